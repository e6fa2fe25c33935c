// Starts a real `wrangler dev` (own port, own persisted state) and speaks HTTP to it, as a user would.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { writeShardConfig } from "../../bin/shard-config.mjs";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

export type DevServer = {
  url: string;
  adminToken: string;
  /** Everything wrangler dev printed so far (the Worker's JSON logs included). */
  output(): string;
  call<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions): Promise<Reply<T>>;
  newKey(tenant: string): Promise<string>;
  /** Fires the cron handler once, as Cloudflare's every-minute trigger would. */
  tick(): Promise<void>;
  stop(): Promise<void>;
  /** Kills wrangler dev at once (SIGKILL), as a crash would; state on disk stays, in-memory queues are lost. */
  crash(): Promise<void>;
  persistTo: string;
  port: number;
  /** wrangler dev's DevTools inspector port (bench/ takes V8 CPU profiles through it). */
  inspectorPort: number;
  /** The D1 bindings that store jobs (JOBS_DBS): ["DB"] unless started with `shards`. */
  shards: string[];
  /**
   * Runs SQL on one D1 binding's local database (wrangler d1 execute) and answers the rows of its statements, in
   * order (one wrangler start is ~4 s: put several `;`-separated statements in one call; D1 refuses long UNIONs).
   */
  d1<T = Record<string, unknown>>(binding: string, sql: string): Promise<T[]>;
};

export type CallOptions = { token?: string; body?: unknown; headers?: Record<string, string> };
export type Reply<T> = { status: number; headers: Headers; body: T };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type DevOptions = {
  vars?: Record<string, string>;
  /** Several Workers in one session; the first one answers on the port. */
  config?: string[];
  /** D1 databases to migrate first; default Edge Jobs' own `DB`. */
  migrate?: { binding: string; config: string }[];
  /** Extra environment for wrangler, e.g. a private WRANGLER_REGISTRY_PATH for cross-session bindings. */
  env?: Record<string, string>;
  /** Reuse this state folder and port (a restart); the caller owns the folder and it is kept on stop. */
  restart?: { persistTo: string; port: number };
  /** Store jobs in this many local D1 databases (DB, JOBS_DB_1, …), as `EDGE_JOBS_SHARDS=n npm run dev` does. */
  shards?: number;
};

/**
 * wrangler gives --var to the first Worker of a session only; the others read the .dev.vars beside
 * their config. So each of those runs from a copy of its config in a folder of its own, beside a
 * .dev.vars with this session's vars; the copy's paths point back at the original's folder.
 */
function withDevVars(config: string, vars: Record<string, string>, sessionDir: string): string {
  const source = resolve(ROOT, config);
  const dir = mkdtempSync(join(sessionDir, "config-"));
  const text = readFileSync(source, "utf8").replace(
    /^(\s*(?:main|directory|migrations_dir)\s*=\s*)"([^"]+)"/gm,
    (_, key: string, path: string) => `${key}${JSON.stringify(resolve(dirname(source), path))}`,
  );
  writeFileSync(join(dir, basename(source)), text);
  const lines = Object.entries(vars).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  writeFileSync(join(dir, ".dev.vars"), `${lines.join("\n")}\n`);
  return join(dir, basename(source));
}

export async function startDev(options: DevOptions = {}): Promise<DevServer> {
  const persistTo = options.restart?.persistTo ?? mkdtempSync(join(tmpdir(), "edge-jobs-e2e-"));
  const port = options.restart?.port ?? (await freePort());
  const inspectorPort = await freePort();
  const adminToken = `e2e-admin-${port}`;
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1", ...options.env };
  const [primaryConfig = "wrangler.toml", ...others] = options.config ?? [];
  // With shards the first Worker runs from a generated copy of its config with the extra D1 bindings and JOBS_DBS.
  const sharded =
    (options.shards ?? 1) > 1
      ? writeShardConfig({
          config: resolve(ROOT, primaryConfig),
          shards: options.shards ?? 1,
          outDir: join(persistTo, "shards"),
        })
      : undefined;
  const primary = sharded?.path ?? primaryConfig;
  // Edge Jobs' own databases, from its own config (the first Worker of a session may be another, e.g. an RPC caller).
  const defaultMigrations = sharded
    ? sharded.bindings.map((binding) => ({ binding, config: sharded.path }))
    : [{ binding: "DB", config: "wrangler.toml" }];
  const migrate = ({ binding, config }: { binding: string; config: string }) =>
    run(WRANGLER, ["d1", "migrations", "apply", binding, "--local", "--persist-to", persistTo, "-c", config], {
      cwd: ROOT,
      env,
    });
  // One after another: side by side, two wranglers met SQLITE_BUSY on Miniflare's shared state.
  for (const database of options.migrate ?? defaultMigrations) await migrate(database);
  // The limits harness (src/limits): the Worker throws and logs on any production limit break; stop() fails on one.
  const vars = {
    ADMIN_TOKEN: adminToken,
    ALLOW_PRIVATE_TARGETS: "true",
    ENFORCE_PLATFORM_LIMITS: "standard",
    ...options.vars,
  };
  const configs = [primary, ...others.map((config) => withDevVars(config, vars, persistTo))].flatMap((c) => ["-c", c]);
  const args = [
    "dev",
    ...configs,
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--test-scheduled",
    "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child: ChildProcess = spawn(WRANGLER, args, {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    }
    if (!options.restart) rmSync(persistTo, { recursive: true, force: true });
    const broken = limitBreaks(output);
    if (broken.length > 0)
      throw new Error(`production limits broken in this wrangler dev run:\n- ${broken.join("\n- ")}`);
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer on ${url}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (HTML pages, Prometheus text): keep the text
    }
    return { status: res.status, headers: res.headers, body: body as T };
  }

  return {
    url,
    adminToken,
    output: () => output,
    call,
    async newKey(tenant) {
      const res = await call<{ key: string }>("POST", "/v1/keys", { token: adminToken, body: { tenant, name: "e2e" } });
      if (res.status !== 201) throw new Error(`could not create a key: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.key;
    },
    async tick() {
      const res = await fetch(`${url}/cdn-cgi/handler/scheduled`);
      if (!res.ok) throw new Error(`scheduled handler answered ${res.status}`);
    },
    stop,
    async crash() {
      if (child.exitCode !== null || !child.pid) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGKILL");
      await exited;
    },
    persistTo,
    port,
    inspectorPort,
    shards: sharded?.bindings ?? ["DB"],
    async d1<T>(binding: string, sql: string): Promise<T[]> {
      const args = ["d1", "execute", binding, "--local", "--persist-to", persistTo, "-c", primary, "--json"];
      const { stdout } = await run(WRANGLER, [...args, "--command", sql], { cwd: ROOT, env }).catch(
        (err: { stdout?: string; stderr?: string }) => {
          // wrangler prints the SQL error as JSON on stdout.
          throw new Error(`wrangler d1 execute ${binding} failed: ${err.stdout ?? ""}${err.stderr ?? ""}`);
        },
      );
      return (JSON.parse(stdout) as { results: T[] }[]).flatMap((statement) => statement.results);
    },
  };
}

/** The limit breaks the Worker logged (src/limits/violations.ts writes one line per break). */
export function limitBreaks(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => line.includes('"msg":"platform limit broken"'))
    .map((line) => /"error":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line);
}

/** Polls a job until it reaches one of `statuses`. */
export async function waitForJob<T extends { status: string }>(
  dev: DevServer,
  token: string,
  id: string,
  statuses: string[],
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    const res = await dev.call<T>("GET", `/v1/jobs/${id}`, { token });
    last = res.body;
    if (res.status === 200 && statuses.includes(last.status)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id} did not reach ${statuses.join("|")}: ${JSON.stringify(last)}`);
}

/** Counts a tenant's jobs in one status by paging GET /v1/jobs to the end. */
export async function countJobs(dev: DevServer, token: string, status: string): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page: Reply<{ data: unknown[]; nextCursor: string | null }> = await dev.call(
      "GET",
      `/v1/jobs?status=${status}&limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      { token },
    );
    count += page.body.data.length;
    cursor = page.body.nextCursor;
  } while (cursor);
  return count;
}
