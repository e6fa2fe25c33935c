// Debounce tests' harness: the service called directly (real D1, real Durable Objects), the real consumer with an
// injected clock, the queue captured so a test delivers every message itself and counts the handler's real runs.
import { env } from "cloudflare:workers";
import { z } from "zod";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry, defineJob } from "../../src/core/define-job";
import { log as rootLog } from "../../src/core/logger";
import { openDb } from "../../src/db/client";
import { getJob } from "../../src/db/jobs";
import { consumeJobs } from "../../src/engine/consumer";
import type { DebounceWindow } from "../../src/gate/debounce";
import { debounceGate } from "../../src/gate/gate-client";
import { type DebouncedInput, enqueueWithDebounce } from "../../src/service/debounce";
import { enqueue } from "../../src/service/enqueue";
import { enqueueContextOf } from "../../src/service/enqueue-context";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, type Sent } from "../fixtures/engine-doubles";
/** Every run of the recording job: which job, with which payload value. The real side effect the tests count. */
export const runs: { jobId: string; value: unknown }[] = [];
/** A run whose value is "hold" waits here until the test lets it finish. */
let release: () => void = () => {};
/** Lets the held run finish. */
export const releaseHeld = () => release();
const held = () => new Promise<void>((resolve) => (release = resolve));

const recording = defineJob({
  type: "test-echo",
  input: z.object({ value: z.unknown() }).partial(),
  async run(input, ctx) {
    runs.push({ jobId: ctx.jobId, value: input.value });
    if (input.value === "hold") await held();
    return { echoed: input.value ?? null };
  },
});
export const registry = createRegistry([...defaultJobs, recording]);
export const runsOf = (jobId: string) => runs.filter((r) => r.jobId === jobId);

let tenantCounter = 0;
export const newTenantName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${tenantCounter++}`;

export function debounce(tenant: string, queue: Queue, items: DebouncedInput[], now = Date.now()) {
  const ctx = enqueueContextOf(env, { db: openDb(env.DB), registry, tenant, log: rootLog, queue, now });
  return enqueueWithDebounce(items, ctx, enqueue);
}

export const echo = (value: unknown, key: string, seconds = 2, maxWaitSeconds?: number): DebouncedInput => ({
  type: "test-echo",
  payload: { value },
  debounce: { key, seconds, ...(maxWaitSeconds !== undefined ? { maxWaitSeconds } : {}) },
});

/** Delivers these messages (each its own delivery, as the queue would) at the injected `now`; answers how each ended. */
export async function deliver(messages: Sent[], now: number, queue: Queue, d1: D1Database = env.DB) {
  const { batch, answers } = answeringBatch(
    "jobs",
    messages.map((m, i) => ({ id: `m${i}`, body: m.body })),
  );
  await consumeJobs(batch, { ...env, DB: d1, JOBS_QUEUE: queue as Queue<JobMessage> }, registry, {
    now: () => now,
    random: Math.random,
  });
  return answers;
}

export const stored = async (tenant: string, id: string) => {
  const row = await getJob(openDb(env.DB), tenant, id);
  if (!row) throw new Error(`job ${id} not found`);
  return row;
};

export const windowOf = (tenant: string, key: string): Promise<DebounceWindow | null> =>
  debounceGate(env.KEY_GATE, tenant, key).debounceWindow();
