// `node bench/profile-only.ts [single|pipeline|batch ...]`: V8 CPU profiles of Edge Jobs and the recording floor
// only (no throughput runs), to iterate on the hot path in a minute or two. Prints, per scenario, CPU per job
// on both, the top self-time functions and the time charged to the nearest function of our own src/ code.
import { join } from "node:path";
import { type DevServer, startDev } from "../test/e2e/harness.ts";
import { type CallFrame, type CpuProfile, connectProfiler, type Profiler } from "./cpu-profile.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SINGLE_JOBS = Number(process.env.PROFILE_SINGLE_JOBS ?? 600);
const PIPELINE_JOBS = Number(process.env.PROFILE_PIPELINE_JOBS ?? 2_000);
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 3);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const what = new Set(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["single", "pipeline", "batch"]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Side = { name: string; dev: DevServer; profiler: Profiler; token?: string; job(delay?: number): unknown };

/**
 * Pure: self time charged to the nearest caller (walking up the stack) whose source is one of ours (src/…),
 * so a library's time shows under the function of ours that called into it.
 */
function byOwnCaller(profile: CpuProfile, sourceOf: (f: CallFrame) => string) {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const gaps = profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0);
  const sorted = gaps.filter((g) => g > 0).sort((a, b) => a - b);
  const cap = 2 * (sorted[Math.floor(sorted.length / 2)] ?? 0);
  const own = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const us = Math.min(Math.max(0, gaps[i] ?? 0), cap);
    const leaf = byId.get(id)?.callFrame.functionName ?? "";
    if (leaf === "(idle)" || leaf === "(program)" || leaf === "(garbage collector)") return;
    let at: number | undefined = id;
    let key = "(no src caller)";
    while (at !== undefined) {
      const frame = byId.get(at)?.callFrame;
      const source = frame ? sourceOf(frame) : "";
      if (frame && source.startsWith("src/")) {
        key = `${frame.functionName || "(anonymous)"} ${source}`;
        break;
      }
      at = parent.get(at);
    }
    own.set(key, (own.get(key) ?? 0) + us);
  });
  return [...own]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([k, us]) => `${(us / 1000).toFixed(2).padStart(8)} ms  ${k}`);
}

async function profiled(side: Side, name: string, jobs: number, body: () => Promise<void>) {
  let best: { cpuMs: number; lines: string[] } | undefined;
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    await side.profiler.start(100);
    await body();
    const raw = await side.profiler.stopRaw(`${side.name}-${name}-${r}`);
    if (!raw) continue;
    rounds.push(raw.summary.cpuMs);
    if (!best || raw.summary.cpuMs < best.cpuMs) {
      best = {
        cpuMs: raw.summary.cpuMs,
        lines: [
          "top self:",
          ...raw.summary.top.map((t) => `${t.selfMs.toFixed(2).padStart(8)} ms  ${t.fn} ${t.source}`),
          "by source:",
          ...Object.entries(raw.summary.bySource).map(([k, v]) => `${v.toFixed(2).padStart(8)} ms  ${k}`),
          "charged to our nearest caller:",
          ...byOwnCaller(raw.profile, raw.sourceOf),
        ],
      };
    }
  }
  const perJob = best ? best.cpuMs / jobs : Number.NaN;
  console.log(`\n== ${side.name} ${name}: least ${best?.cpuMs} ms over ${jobs} jobs = ${perJob.toFixed(4)} ms/job`);
  console.log(`   rounds ms: ${rounds.join(", ")}`);
  if (side.name === "edgeJobs" || process.env.PROFILE_FLOOR_DETAIL) console.log(best?.lines.join("\n"));
  return perJob;
}

async function singles(side: Side, n: number, delaySeconds: number) {
  let next = 0;
  const worker = async () => {
    while (next++ < n) {
      const res = await side.dev.call("POST", "/v1/jobs", { token: side.token, body: side.job(delaySeconds) });
      if (res.status !== 202) throw new Error(`single enqueue answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function batches(side: Side, n: number, delaySeconds: number, inFlight = 4) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const count = Math.min(100, n - next);
      next += count;
      const jobs = Array.from({ length: count }, () => side.job(delaySeconds));
      const res = await side.dev.call("POST", "/v1/jobs/batch", { token: side.token, body: { jobs } });
      if (res.status !== 202) throw new Error(`batch enqueue answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

async function main() {
  const fast = await startDev({ vars: { LOG_LEVEL: "warn", ENFORCE_PLATFORM_LIMITS: "" } });
  const floorConfig = "bench/floor/wrangler.toml";
  const floor = await startDev({ config: [floorConfig], migrate: [{ binding: "DB", config: floorConfig }] });
  try {
    const sides: Side[] = [
      {
        name: "floor",
        dev: floor,
        profiler: await connectProfiler(floor.inspectorPort, join(ROOT, "bench/floor")),
        job: (delaySeconds) => ({ type: "noop", delaySeconds }),
      },
      {
        name: "edgeJobs",
        dev: fast,
        profiler: await connectProfiler(fast.inspectorPort, ROOT),
        token: await fast.newKey("profile"),
        job: (delaySeconds) => ({ type: "cleanup-expired-sessions", payload: {}, delaySeconds }),
      },
    ];
    const perJob: Record<string, Record<string, number>> = {};
    for (const side of sides) {
      // Warm: the key cached, the tenant recorded, the code compiled.
      await singles(side, 50, 0);
      await batches(side, 400, 0);
      await sleep(3_000);
      const mine: Record<string, number> = {};
      // Delayed past the profile, so the consumer stays out of the enqueue profiles.
      if (what.has("single"))
        mine.single = await profiled(side, "single", SINGLE_JOBS, () => singles(side, SINGLE_JOBS, 60));
      if (what.has("batch")) {
        mine.batchEnqueue100 = 100 * (await profiled(side, "batch-enqueue-100", 100, () => batches(side, 100, 2, 1)));
        await sleep(4_000);
        mine.consumer100 =
          100 *
          (await profiled(side, "consumer-100", 100, async () => {
            await side.profiler.stop("discard").catch(() => undefined);
            await batches(side, 100, 2, 1);
            await side.profiler.start(100);
            await sleep(5_000);
          }));
      }
      if (what.has("pipeline"))
        mine.pipeline = await profiled(side, "pipeline", PIPELINE_JOBS, async () => {
          await batches(side, PIPELINE_JOBS, 0);
          await sleep(Number(process.env.PROFILE_PIPELINE_WAIT_MS ?? 12_000));
        });
      perJob[side.name] = mine;
    }
    const ratios = Object.fromEntries(
      Object.keys(perJob.edgeJobs ?? {}).map((k) => [
        k,
        Number(((perJob.edgeJobs?.[k] ?? 0) / (perJob.floor?.[k] ?? 1)).toFixed(2)),
      ]),
    );
    console.log(JSON.stringify({ perJobMs: perJob, ratios }, null, 2));
  } finally {
    await fast.stop();
    await floor.stop();
  }
}

await main();
