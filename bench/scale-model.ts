// The scale model (README "Scale"): what one D1 shard holds and sustains, what N shards do and which platform limit
// binds next, and the price per million jobs at 1, 10 and 100 shards. Pure arithmetic over bench/scale-inputs.json
// (measured by bench/scale-inputs.ts) and the documented limits below. `node bench/scale-model.ts [inputs.json]`;
// RETENTION_DAYS (default 7) and SCALE_JOBS_PER_SECOND (default 40, a load one shard carries: the fixed cost is spread over it) change it.
import { readFileSync } from "node:fs";
import { type Counts, PRICES, priceOf } from "./cost-model.ts";

/** Documented platform limits, each with where it is stated (read 2026-12-02). */
export const LIMITS = {
  /** https://developers.cloudflare.com/d1/platform/limits/ — "Maximum database size: 10 GB (Workers Paid)". */
  d1DatabaseBytes: 10e9,
  /**
   * https://developers.cloudflare.com/d1/platform/limits/ FAQ "How much work can a single D1 database do?": a
   * database runs one query at a time, so at ~1 ms per query it serves ~1,000 queries/s (shared/ARCHITECTURE.md).
   */
  d1QueriesPerSecond: 1_000,
  /** https://developers.cloudflare.com/d1/platform/limits/ — "Queries per Worker invocation: 1000 (Paid) / 50 (Free)". */
  d1QueriesPerInvocation: 1_000,
  /** https://developers.cloudflare.com/d1/platform/limits/ — "Databases per account: 50,000 (Workers Paid)". */
  d1DatabasesPerAccount: 50_000,
  /** https://developers.cloudflare.com/queues/platform/limits/ — "Per-queue message throughput: 5,000 messages per second". */
  queueMessagesPerSecond: 5_000,
  /** https://developers.cloudflare.com/queues/platform/limits/ — "Concurrent consumer invocations: 250 (push-based)". */
  queueConsumerConcurrency: 250,
  /** https://developers.cloudflare.com/queues/platform/limits/ — "Maximum consumer batch size: 100 messages". */
  queueMaxBatch: 100,
  /** https://developers.cloudflare.com/durable-objects/platform/limits/ (FAQ): one object, ~1,000 requests/s (soft). */
  doRequestsPerSecondPerObject: 1_000,
};

/** https://developers.cloudflare.com/d1/platform/pricing/ — storage: 5 GB included, then $0.75 per GB-month. */
export const D1_STORAGE = { includedGB: 5, dollarsPerGBMonth: 0.75 };

/**
 * Worker CPU per plain job from V8 profiles (README "Performance", bench/run.ts). The invocation lines carry wall
 * time only, which under wrangler dev with info logs is mostly local D1 and log forwarding, not billable CPU.
 */
export const PROFILED_CPU_MS_PER_JOB = 0.069;

/**
 * Minutes a job stays in the tick's rescue scan at most: RESCUE_WINDOW_MS (1 h) back from the tenant's floor, which is
 * rewritten only once it lags another hour (src/core/rescue-window.ts, src/scheduler/rescue.ts).
 */
export const RESCUE_SCAN_MINUTES = 120;

const SECONDS_PER_DAY = 86_400;
const MINUTES_PER_MONTH = 30 * 24 * 60;
const SECONDS_PER_MONTH = 30 * SECONDS_PER_DAY;

type Side = { statementsPerJob: number; rowsWrittenPerJob: number; rowsReadPerJob: number };
export type Scenario = {
  jobs: number;
  payloadBytes: number;
  bytesPerJob: number;
  enqueue: Side & { invocations: number };
  consumer: Side & { messagesPerJob: number; jobsPerBatch: number; meanBatchMs: number };
  counts: Counts;
};
export type Tick = { jobsInDatabase: number; statements: number; rowsRead: number; rowsWritten: number };
export type ScaleInputs = { measuredAt: string; plain: Scenario; payload1k: Scenario; single: Scenario; ticks: Tick[] };
export type Assumptions = { retentionDays: number; jobsPerSecond: number };

/**
 * The tick's rows read as a line through the measured points: a fixed part and a part per job in its rescue scan.
 * The measured jobs were all minutes old, so every one was in the scan; older ones leave it after 1–2 hours.
 */
export function tickReads(ticks: Tick[]): { fixed: number; perHeldJob: number } {
  const [a, b] = [...ticks].sort((x, y) => x.jobsInDatabase - y.jobsInDatabase);
  if (!a) throw new Error("no tick measured");
  if (!b || b.jobsInDatabase === a.jobsInDatabase) return { fixed: a.rowsRead, perHeldJob: 0 };
  const perHeldJob = Math.max(0, (b.rowsRead - a.rowsRead) / (b.jobsInDatabase - a.jobsInDatabase));
  return { fixed: Math.max(0, a.rowsRead - perHeldJob * a.jobsInDatabase), perHeldJob };
}

/** One shard: what it holds at the retention and the jobs/s it sustains, by storage and by its writer. */
export function perShard(inputs: ScaleInputs, scenario: Scenario, a: Assumptions) {
  const tickStatements = Math.max(...inputs.ticks.map((t) => t.statements));
  const jobsHeld = LIMITS.d1DatabaseBytes / scenario.bytesPerJob;
  // Every job stays retentionDays after it finishes, so a full shard holds (jobs/s × retention) of them.
  const storageJobsPerSecond = jobsHeld / (a.retentionDays * SECONDS_PER_DAY);
  const queriesPerJob = scenario.enqueue.statementsPerJob + scenario.consumer.statementsPerJob;
  // The shard's own tick takes its statements every minute off the writer's budget.
  const writeJobsPerSecond = (LIMITS.d1QueriesPerSecond - tickStatements / 60) / queriesPerJob;
  const binding = Math.min(storageJobsPerSecond, writeJobsPerSecond);
  const bindsBy = storageJobsPerSecond <= writeJobsPerSecond ? "storage" : "writer";
  return { jobsHeld, storageJobsPerSecond, queriesPerJob, writeJobsPerSecond, binding, bindsBy };
}

/** N shards: totals, and the limits outside D1 that come next (a lane's queue is shared by every shard). */
export function forShards(inputs: ScaleInputs, a: Assumptions, shards: number) {
  const one = perShard(inputs, inputs.plain, a);
  const total = one.binding * shards;
  const laneJobsPerSecond = LIMITS.queueMessagesPerSecond / inputs.plain.consumer.messagesPerJob;
  return { shards, total, lanesNeeded: Math.ceil(total / laneJobsPerSecond), laneJobsPerSecond };
}

/**
 * Dollars per million plain jobs at N shards carrying `jobsPerSecond` in all: the measured per-job operations
 * (bench/cost-model.ts), each job's bytes stored for the retention, the tick's rescue scan reading it for ≤ 2 hours,
 * and each shard's fixed tick (its queue message, invocation and fixed reads) spread over the load.
 */
export function dollarsPerMillion(inputs: ScaleInputs, a: Assumptions, shards: number, jobsPerSecond: number) {
  const scenario = inputs.plain;
  const operations = priceOf({ ...scenario.counts, cpuMsPerJob: PROFILED_CPU_MS_PER_JOB });
  // A job's bytes for retentionDays; the account's 5 GB included is left out (shared by everything on the account).
  const storage = ((1e6 * scenario.bytesPerJob) / 1e9) * (a.retentionDays / 30) * D1_STORAGE.dollarsPerGBMonth;
  const reads = tickReads(inputs.ticks);
  // The tick's outbox rescue reads each tenant's recent ids (src/core/rescue-window.ts): a job is read by every tick
  // for its first RESCUE_WINDOW plus the floor's slack, at most 2 hours; the measured slope is per such job.
  const tickScan = 1e6 * reads.perHeldJob * RESCUE_SCAN_MINUTES * PRICES.d1RowRead;
  const tickStatements = Math.max(...inputs.ticks.map((t) => t.statements));
  const tickRowsWritten = Math.max(...inputs.ticks.map((t) => t.rowsWritten));
  const tickRows = reads.fixed * PRICES.d1RowRead + tickRowsWritten * PRICES.d1RowWritten;
  // One shard: the cron runs the tick itself (one invocation a minute). More: the cron invocation sends one
  // maintenance message per shard (send, deliver, ack: 3 queue operations) and a consumer invocation runs its tick.
  const perShardMinute = shards === 1 ? tickRows : 3 * PRICES.queueOperation + PRICES.workerRequest + tickRows;
  const fixedPerMonth = (PRICES.workerRequest + perShardMinute * shards) * MINUTES_PER_MONTH;
  const fixed = (fixedPerMonth / (jobsPerSecond * SECONDS_PER_MONTH)) * 1e6;
  return {
    operations,
    storage,
    tickScan,
    fixedPerMonth,
    fixed,
    tickStatements,
    total: operations + storage + tickScan + fixed,
  };
}

const n = (v: number, digits = 0) =>
  v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const short = (v: number) => (v >= 1e9 ? `${n(v / 1e9, 2)} billion` : v >= 1e6 ? `${n(v / 1e6, 1)} million` : n(v));

export function table(inputs: ScaleInputs, a: Assumptions): string {
  const scenarios: [string, Scenario][] = [
    ["plain, batch enqueue", inputs.plain],
    ["plain, single `POST /v1/jobs`", inputs.single],
    [`${n(inputs.payload1k.payloadBytes)}-byte payload, batch`, inputs.payload1k],
  ];
  const rows = scenarios.map(([, s]) => perShard(inputs, s, a));
  const cells = (pick: (r: (typeof rows)[number], s: Scenario) => string) =>
    rows.map((r, i) => pick(r, (scenarios[i] as [string, Scenario])[1])).join(" | ");
  const reads = tickReads(inputs.ticks);
  const lines = [
    `Inputs measured ${inputs.measuredAt.slice(0, 16).replace("T", " ")} UTC; retention ${a.retentionDays} days.`,
    "",
    `| per shard (one D1 database) | ${scenarios.map(([name]) => name).join(" | ")} |`,
    `|---|${scenarios.map(() => "---").join("|")}|`,
    `| bytes per job (D1 \`size_after\`) | ${cells((_, s) => n(s.bytesPerJob))} |`,
    `| jobs held in ${n(LIMITS.d1DatabaseBytes / 1e9)} GB | ${cells((r) => short(r.jobsHeld))} |`,
    `| jobs/s from storage (held ÷ ${a.retentionDays} days) | ${cells((r) => n(r.storageJobsPerSecond, 1))} |`,
    `| D1 queries per job (enqueue + consumer) | ${cells((r, s) => `${n(s.enqueue.statementsPerJob, 3)} + ${n(s.consumer.statementsPerJob, 3)} = ${n(r.queriesPerJob, 3)}`)} |`,
    `| jobs/s from the writer (${n(LIMITS.d1QueriesPerSecond)} queries/s ÷ queries per job) | ${cells((r) => n(r.writeJobsPerSecond))} |`,
    `| **binding (the lower)** | ${cells((r) => `**${n(r.binding, 1)} (${r.bindsBy})**`)} |`,
    "",
    `| shards | plain jobs/s sustained | jobs held | lane queues needed (${n(LIMITS.queueMessagesPerSecond)} msg/s each, ${inputs.plain.consumer.messagesPerJob} msg/job) |`,
    "|---|---|---|---|",
  ];
  for (const shards of [1, 10, 100]) {
    const s = forShards(inputs, a, shards);
    const held = rows[0] ? rows[0].jobsHeld * shards : 0;
    lines.push(
      `| ${shards} | ${n(s.total)} (${short(s.total * SECONDS_PER_DAY)}/day) | ${short(held)} | ${s.lanesNeeded} (${n((100 * s.total) / (s.lanesNeeded * s.laneJobsPerSecond))} % of their messages/s) |`,
    );
  }
  const loads = [a.jobsPerSecond, ...[1, 10, 100].map((shards) => forShards(inputs, a, shards).total)];
  lines.push(
    "",
    `| shards | per-job operations | storage (${a.retentionDays} days) | tick rescue scan (≤ ${RESCUE_SCAN_MINUTES} reads) | tick fixed, $/month | **$ per million** at ${n(a.jobsPerSecond)} jobs/s | **$ per million** at the shards' sustained load |`,
    "|---|---|---|---|---|---|---|",
  );
  for (const [i, shards] of [1, 10, 100].entries()) {
    const low = dollarsPerMillion(inputs, a, shards, a.jobsPerSecond);
    const full = dollarsPerMillion(inputs, a, shards, loads[i + 1] as number);
    lines.push(
      `| ${shards} | ${n(low.operations, 2)} | ${n(low.storage, 3)} | ${n(low.tickScan, 2)} | ${n(low.fixedPerMonth, 2)} | **${n(low.total, 2)}** | **${n(full.total, 2)}** (${n(loads[i + 1] as number)} jobs/s) |`,
    );
  }
  // Consumer concurrency binds before the lane's message rate only if a full batch takes longer than this.
  const concurrencyBatchSeconds =
    (LIMITS.queueConsumerConcurrency * LIMITS.queueMaxBatch) /
    (LIMITS.queueMessagesPerSecond / inputs.plain.consumer.messagesPerJob);
  lines.push(
    "",
    `Next limits: a lane queue carries ${n(LIMITS.queueMessagesPerSecond)} messages/s whatever the shard count, so past it jobs need more lanes; ` +
      `its ${LIMITS.queueConsumerConcurrency} concurrent consumers × ${LIMITS.queueMaxBatch} jobs keep up with that rate while a ${LIMITS.queueMaxBatch}-job batch takes ` +
      `under ${n(concurrencyBatchSeconds, 1)} s (${n(inputs.plain.consumer.meanBatchMs)} ms measured under wrangler dev); ` +
      `one idempotency or flow key is one Durable Object (~${n(LIMITS.doRequestsPerSecondPerObject)} requests/s) at any shard count; ` +
      `${n(LIMITS.d1DatabasesPerAccount)} D1 databases per account.`,
    "",
    `Tick: ${Math.max(...inputs.ticks.map((t) => t.statements))} statements a minute per shard; rows read ≈ ${n(reads.fixed)} + ${n(reads.perHeldJob, 3)} per job created in the last 1–2 hours ` +
      `(measured with ${inputs.ticks.map((t) => `${n(t.jobsInDatabase)} fresh jobs: ${n(t.rowsRead)}`).join(", ")}).`,
  );
  return lines.join("\n");
}

// Run as a script (a test may import the functions).
if (import.meta.main) {
  const path = process.argv[2] ?? new URL("./scale-inputs.json", import.meta.url).pathname;
  const inputs = JSON.parse(readFileSync(path, "utf8")) as ScaleInputs;
  const assumptions = {
    retentionDays: Number(process.env.RETENTION_DAYS ?? 7),
    jobsPerSecond: Number(process.env.SCALE_JOBS_PER_SECOND ?? 40),
  };
  console.log(table(inputs, assumptions));
}
