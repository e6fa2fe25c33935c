// V8 CPU profiles of a `wrangler dev` Worker over its DevTools inspector (the Chrome DevTools Protocol's
// Profiler domain), and their reduction to Worker CPU milliseconds and the functions that spent them.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
export type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
export type CpuProfile = {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
};

export type Profiler = {
  start(samplingIntervalUs?: number): Promise<void>;
  /** Undefined when the inspector answered without a profile. */
  stop(name: string): Promise<CpuSummary | undefined>;
  /** The profile itself (for callers that attribute time up the stack), or undefined as with stop. */
  stopRaw(
    name: string,
  ): Promise<{ summary: CpuSummary; profile: CpuProfile; sourceOf: (f: CallFrame) => string } | undefined>;
  close(): void;
};

// Miniflare's inspector proxy refuses WebSocket upgrades whose Origin is not its DevTools site (or loopback).
const DEVTOOLS_ORIGIN = "https://devtools.devprod.cloudflare.dev";
const PROFILE_DIR = join(tmpdir(), "edge-jobs-bench-profiles");

type Connection = { send<T>(method: string, params?: Record<string, unknown>): Promise<T>; close(): void };

/** One DevTools WebSocket to the first Worker the inspector on `port` lists, with Profiler enabled. */
async function openConnection(port: number): Promise<Connection> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const target = targets[0];
  if (!target) throw new Error(`the inspector on port ${port} lists no Worker`);
  const socket = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: DEVTOOLS_ORIGIN } } as never);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error(`could not open the inspector WebSocket on port ${port}`)));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  socket.addEventListener("message", (event: { data: unknown }) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter || message.id === undefined) return; // an event, not an answer
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result ?? { raw: String(event.data).slice(0, 500) });
  });
  // wrangler dev re-creates its inspector proxy when the Worker reloads: a closed socket fails what is pending.
  socket.addEventListener("close", () => {
    for (const waiter of pending.values()) waiter.reject(new Error("the inspector closed (did the Worker reload?)"));
    pending.clear();
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  return { send, close: () => socket.close() };
}

/**
 * Profiles the Worker of the wrangler dev session whose inspector is on `port` (one Worker per session here).
 * `projectDir` is the folder of the Worker's wrangler.toml, where wrangler dev keeps the bundle it runs.
 * Each profile opens a fresh connection: wrangler dev reloads the Worker when a source file changes (other
 * work in the same tree), and the old connection then only echoes requests back without a profile.
 */
export async function connectProfiler(port: number, projectDir: string): Promise<Profiler> {
  let connection: Connection | undefined = await openConnection(port);
  const stopRaw: Profiler["stopRaw"] = async (name) => {
    if (!connection) throw new Error("Profiler.stop without a start");
    const answer = await connection
      .send<{ profile?: CpuProfile; raw?: string }>("Profiler.stop")
      .catch((err: Error) => ({ raw: err.message, profile: undefined }));
    const profile = answer.profile;
    if (!profile) {
      // Seen now and then under load, and after a reload: the caller repeats that measurement.
      console.error(`Profiler.stop answered no profile (${name}): ${answer.raw}`);
      return undefined;
    }
    mkdirSync(PROFILE_DIR, { recursive: true });
    const file = join(PROFILE_DIR, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    // The bundle beside it, so the profile's line numbers can still be read once wrangler dev is gone.
    const bundle = runningBundle(projectDir);
    if (bundle) copyFileSync(bundle, join(PROFILE_DIR, `${name}.bundle.js`));
    const sourceOf = moduleMapper(bundle);
    return { summary: { ...summarizeProfile(profile, sourceOf), file }, profile, sourceOf };
  };
  return {
    async start(samplingIntervalUs = 200) {
      connection?.close();
      connection = await openConnection(port);
      await connection.send("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
      await connection.send("Profiler.start");
    },
    stop: async (name) => (await stopRaw(name))?.summary,
    stopRaw,
    close: () => connection?.close(),
  };
}

export type CpuSummary = {
  /** Self time of every node but (idle), (program) and (garbage collector): the Worker's own JavaScript. */
  cpuMs: number;
  gcMs: number;
  sampledMs: number;
  samples: number;
  /** The functions with the most self time. */
  top: { fn: string; source: string; selfMs: number }[];
  /** Self time by the module the bundle says a function came from (node_modules package or src file). */
  bySource: Record<string, number>;
  file?: string;
};

const NOT_WORKER = new Set(["(idle)", "(program)", "(garbage collector)"]);
const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * Pure: a profile's samples → self time per function. The inspector only samples while the isolate is
 * busy, so the gap after the last sample of a burst is mostly idle: each sample counts until the next
 * one, capped at twice the profile's median gap (its real sampling period).
 */
export function summarizeProfile(
  profile: CpuProfile,
  sourceOf: (frame: CallFrame) => string = (f) => f.url,
  topCount = 15,
): CpuSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const gaps = profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0);
  const sorted = gaps.filter((g) => g > 0).sort((a, b) => a - b);
  const cap = 2 * (sorted[Math.floor(sorted.length / 2)] ?? 0);
  let cpuUs = 0;
  let gcUs = 0;
  let sampledUs = 0;
  const perFunction = new Map<string, { fn: string; source: string; us: number }>();
  const bySource: Record<string, number> = {};
  profile.samples.forEach((id, i) => {
    const us = Math.min(Math.max(0, gaps[i] ?? 0), cap);
    sampledUs += us;
    const frame = byId.get(id)?.callFrame;
    const name = frame?.functionName || "(anonymous)";
    if (name === "(garbage collector)") gcUs += us;
    if (!frame || NOT_WORKER.has(name)) return;
    cpuUs += us;
    const source = sourceOf(frame);
    const key = `${name}@${source}:${frame.lineNumber}`;
    const entry = perFunction.get(key) ?? { fn: name, source, us: 0 };
    entry.us += us;
    perFunction.set(key, entry);
    bySource[source] = (bySource[source] ?? 0) + us / 1000;
  });
  const top = [...perFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topCount)
    .map((e) => ({ fn: e.fn, source: e.source, selfMs: round(e.us / 1000) }));
  const sortedSources = Object.fromEntries(
    Object.entries(bySource)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, v]) => [k, round(v)]),
  );
  return {
    cpuMs: round(cpuUs / 1000),
    gcMs: round(gcUs / 1000),
    sampledMs: round(sampledUs / 1000),
    samples: profile.samples.length,
    top,
    bySource: sortedSources,
  };
}

/** The newest bundle wrangler dev wrote under `projectDir` (it lives while the session runs). */
export function runningBundle(projectDir: string): string | undefined {
  const tmp = join(projectDir, ".wrangler", "tmp");
  if (!existsSync(tmp)) return undefined;
  const newest = readdirSync(tmp)
    .filter((d) => d.startsWith("dev-"))
    .map((d) => join(tmp, d))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) return undefined;
  const scripts = readdirSync(newest).filter((f) => f.endsWith(".js"));
  const largest = scripts.sort((a, b) => statSync(join(newest, b)).size - statSync(join(newest, a)).size)[0];
  return largest ? join(newest, largest) : undefined;
}

/**
 * wrangler bundles the Worker with esbuild, which opens every module with a `// path` comment line; a
 * frame's line number in the bundle therefore names its module (node_modules package or src file).
 */
export function moduleMapper(bundle: string | undefined): (frame: CallFrame) => string {
  const marks: { line: number; module: string }[] = [];
  if (bundle) {
    readFileSync(bundle, "utf8")
      .split("\n")
      .forEach((text, line) => {
        const m = /^\/\/ (\S+\.[cm]?[jt]sx?)$/.exec(text);
        if (!m?.[1]) return;
        const path = m[1].replace(/^(\.\.\/)+/, "");
        const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
        marks.push({ line, module: pkg ?? path });
      });
  }
  return (frame) => {
    if (!frame.url) return "(native)";
    if (frame.url.includes(":") && !frame.url.startsWith("file:")) return frame.url; // cloudflare-internal:*
    let found = "";
    for (const mark of marks) {
      if (mark.line > frame.lineNumber) break;
      found = mark.module;
    }
    return found || frame.url;
  };
}
