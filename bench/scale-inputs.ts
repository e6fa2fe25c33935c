// Measures the per-shard inputs of the scale model (bench/scale-model.ts) on a real `wrangler dev`: database bytes
// per finished job from D1's own `meta.size_after`, and D1 statements / rows per job from the Worker's `invocation`
// lines, enqueue and consumer apart. Writes bench/scale-inputs.json. Run it from a snapshot of HEAD (README "Scale"):
// wrangler dev reloads on every edit of src/, which would lose its in-memory queues mid-run.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { getPlatformProxy } from "wrangler";
import { countJobs, type DevServer, startDev } from "../test/e2e/harness.ts";
import { type Invocation, summarizeLogs } from "./log-counts.ts";
import { sendBatches, unfinished } from "./send-batches.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const JOBS = Math.min(Number(process.env.SCALE_JOBS ?? 5_000), 20_000);
const SINGLE_JOBS = Math.min(Number(process.env.SCALE_SINGLE_JOBS ?? 1_000), 5_000);
const OUT = process.env.SCALE_INPUTS_OUT ?? join(ROOT, "bench/scale-inputs.json");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function invocations(output: string): Invocation[] {
  return output
    .split("\n")
    .filter((line) => line.includes('"msg":"invocation"'))
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))) as Invocation);
}

/**
 * The database's size as D1 reports it (`meta.size_after` of a statement), read through a second local D1 on the
 * same persisted state: `wrangler d1 execute --local --json` keeps only `duration` of the meta.
 */
async function databaseBytes(persistTo: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "edge-jobs-scale-"));
  const config = join(dir, "wrangler.toml");
  // The same database_id as wrangler.toml: local D1 names its file after it.
  writeFileSync(
    config,
    [
      'name = "scale-size-probe"',
      'compatibility_date = "2026-11-01"',
      "[[d1_databases]]",
      'binding = "DB"',
      'database_name = "edge-jobs"',
      'database_id = "00000000-0000-0000-0000-000000000000"',
      "",
    ].join("\n"),
  );
  const proxy = await getPlatformProxy<{ DB: D1Database }>({
    configPath: config,
    persist: { path: join(persistTo, "v3") },
  });
  try {
    const result = await proxy.env.DB.prepare("SELECT count(*) AS n FROM jobs").run();
    const size = (result.meta as { size_after?: number }).size_after;
    if (typeof size !== "number") throw new Error(`D1 reported no size_after: ${JSON.stringify(result.meta)}`);
    return size;
  } finally {
    await proxy.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitDrained(dev: DevServer, token: string) {
  const deadline = Date.now() + 600_000;
  while ((await unfinished(dev, token)) > 0) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the jobs to finish");
    await sleep(500);
  }
  await sleep(3_000); // the last consumer invocation's line
}

const per = (n: number, jobs: number) => Number((n / jobs).toFixed(4));

/** One scenario: N jobs of one shape, bytes and operations per job. */
type Send = (dev: DevServer, token: string, total: number, job: (i: number) => unknown) => Promise<unknown>;

/** `total` jobs one `POST /v1/jobs` each, eight requests in flight. */
async function sendSingles(dev: DevServer, token: string, total: number, job: (i: number) => unknown) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const res = await dev.call("POST", "/v1/jobs", { token, body: job(next++) });
      if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function measure(
  dev: DevServer,
  name: string,
  job: (i: number) => unknown,
  jobs = JOBS,
  send: Send = sendBatches,
) {
  const token = await dev.newKey(`scale-${name}`);
  // Warm-up: the tenant's key, tenant row and counter rows exist before the measured jobs (they are per tenant).
  await sendBatches(dev, token, 100, job);
  await waitDrained(dev, token);
  const before = await databaseBytes(dev.persistTo);
  const from = dev.output().length;
  const started = Date.now();
  await send(dev, token, jobs, job);
  await waitDrained(dev, token);
  const seconds = (Date.now() - started) / 1000;
  const output = dev.output().slice(from);
  const lines = invocations(output);
  const after = await databaseBytes(dev.persistTo);
  const succeeded = await countJobs(dev, token, "succeeded");
  if (succeeded !== jobs + 100) throw new Error(`${name}: ${succeeded} succeeded, expected ${jobs + 100}`);
  const enqueue = lines.filter((l) => l.handler === "fetch" && l.method === "POST" && l.path?.startsWith("/v1/jobs"));
  const consumer = lines.filter((l) => l.handler === "queue");
  const sum = (list: Invocation[], pick: (l: Invocation) => number) => list.reduce((t, l) => t + pick(l), 0);
  /** D1 statements, rows written and rows read per job over some invocations. */
  const d1PerJob = (list: Invocation[]) => ({
    statementsPerJob: per(
      sum(list, (l) => l.d1Statements ?? 0),
      jobs,
    ),
    rowsWrittenPerJob: per(
      sum(list, (l) => l.d1RowsWritten),
      jobs,
    ),
    rowsReadPerJob: per(
      sum(list, (l) => l.d1RowsRead),
      jobs,
    ),
  });
  const delivered = sum(consumer, (l) => l.delivered ?? 0);
  return {
    jobs: jobs,
    payloadBytes: JSON.stringify((job(0) as { payload?: unknown }).payload ?? {}).length,
    databaseBytesBefore: before,
    databaseBytesAfter: after,
    bytesPerJob: Math.round((after - before) / jobs),
    enqueue: {
      invocations: enqueue.length,
      ...d1PerJob(enqueue),
    },
    consumer: {
      invocations: consumer.length,
      jobsPerBatch: Number((delivered / Math.max(1, consumer.length)).toFixed(1)),
      messagesPerJob: per(delivered, jobs),
      ...d1PerJob(consumer),
      doRequestsPerJob: per(
        sum(consumer, (l) => l.doRequests),
        jobs,
      ),
      // Local D1 and queues under wrangler dev: an upper bound for production's batch time, not a measure of it.
      meanBatchMs: Math.round(sum(consumer, (l) => l.durationMs) / Math.max(1, consumer.length)),
    },
    // The same billable counts as README "Performance" (bench/log-counts.ts; the prune's row included).
    counts: summarizeLogs(output, jobs),
    pipelineSeconds: Math.round(seconds),
  };
}

/** One cron tick on the filled database: the fixed per-shard work (statements, rows) of each minute. */
async function measureTick(dev: DevServer, jobsInDatabase: number) {
  const ticks: Invocation[] = [];
  for (let i = 0; i < 3; i++) {
    const from = dev.output().length;
    await dev.tick();
    await sleep(2_000);
    const line = invocations(dev.output().slice(from)).find((l) => l.handler === "scheduled");
    if (line) ticks.push(line);
  }
  if (ticks.length === 0) throw new Error("no scheduled invocation line");
  const mean = (pick: (l: Invocation) => number) =>
    Number((ticks.reduce((t, l) => t + pick(l), 0) / ticks.length).toFixed(1));
  return {
    jobsInDatabase,
    ticks: ticks.length,
    statements: mean((l) => l.d1Statements ?? 0),
    rowsRead: mean((l) => l.d1RowsRead),
    rowsWritten: mean((l) => l.d1RowsWritten),
    durationMs: mean((l) => l.durationMs),
  };
}

async function main() {
  const dev = await startDev({ vars: { LOG_LEVEL: "info" } });
  try {
    const plainJob = () => ({ type: "cleanup-expired-sessions", payload: {} });
    const plain = await measure(dev, "plain", plainJob);
    // The tick's reads grow with the jobs a shard holds: measured at two sizes.
    const tickAfterPlain = await measureTick(dev, JOBS + 100);
    // ~1 KB of payload JSON; send-order-confirmation keeps fields it does not read, and (no ORDER_API_URL) calls nothing.
    const note = "x".repeat(1_000 - JSON.stringify({ orderId: "o-00000", note: "" }).length);
    const withPayload = await measure(dev, "payload-1k", (i) => ({
      type: "send-order-confirmation",
      payload: { orderId: `o-${String(i).padStart(5, "0")}`, note },
    }));
    const tick = await measureTick(dev, 2 * (JOBS + 100));
    // Single enqueue: one request (and its statements) per job; the consumer's batches fill as they will.
    const single = await measure(dev, "single", plainJob, SINGLE_JOBS, sendSingles);
    const inputs = {
      measuredAt: new Date().toISOString(),
      how: "node bench/scale-inputs.ts: wrangler dev (local D1, LOG_LEVEL=info), jobs through POST /v1/jobs/batch (100 per request, 4 in flight) until all succeeded; bytes from D1 meta.size_after before and after; statements and rows from the Worker's invocation lines",
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
      plain,
      payload1k: withPayload,
      single,
      ticks: [tickAfterPlain, tick],
    };
    writeFileSync(OUT, `${JSON.stringify(inputs, null, 2)}\n`);
    console.log(JSON.stringify(inputs, null, 2));
  } finally {
    await dev.stop();
  }
}

await main();
