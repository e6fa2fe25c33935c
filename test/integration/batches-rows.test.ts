// D1 rows written by batches, measured (meta.rows_written): a batched job's enqueue, and the counting's cost per wave.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Batch } from "../../src/contract/batches";
import type { Job } from "../../src/contract/job";
import { pendingBatchCallbacks } from "../../src/db/batch-statements";
import { type AttemptRef, succeedManyStatements } from "../../src/db/consumer-statements";
import { batchProgress } from "../../src/engine/batch-progress";
import { meterD1 } from "../../src/metering/d1";
import { newTenant } from "../fixtures/api";
import { capturingQueue } from "../fixtures/engine-doubles";
import worker from "../fixtures/worker";

const refOf = (tenant: string, id: string, now: number): AttemptRef => ({
  tenant,
  id,
  attempt: 1,
  token: 0,
  startedAt: now,
  claimed: false,
});

async function post<T>(testEnv: Env, key: string, path: string, body: unknown) {
  const res = await worker.fetch(
    new Request(`http://edge-jobs.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    testEnv,
    createExecutionContext(),
  );
  expect(res.status).toBe(202);
  return (await res.json()) as T;
}

const rowsOf = async (d1: D1Database, statements: D1PreparedStatement[]) =>
  (await d1.batch(statements)).reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0);

describe("rows written by batches", () => {
  it("a batched job costs its row + its jobs_batch entry on enqueue; counting costs one batch row per batch per wave", async () => {
    const { key, tenant } = await newTenant("bat-rows");
    const { d1, usage } = meterD1(env.DB);
    const { queue } = capturingQueue();
    const testEnv = { ...env, DB: d1, JOBS_QUEUE: queue };
    // Warm-up: the tenant row is written once per isolate; the measured requests below never write it.
    await post(testEnv, key, "/v1/jobs", { type: "test-echo" });

    let before = usage.rowsWritten;
    const plain = await post<{ jobs: Job[] }>(testEnv, key, "/v1/jobs/batch", {
      jobs: Array.from({ length: 100 }, () => ({ type: "test-echo" })),
    });
    const plainEnqueue = usage.rowsWritten - before;
    before = usage.rowsWritten;
    const batch = await post<Batch & { jobs: Job[] }>(testEnv, key, "/v1/batches", {
      jobs: Array.from({ length: 100 }, () => ({ type: "test-echo" })),
    });
    const batchEnqueue = usage.rowsWritten - before;

    // One wave of 50 successes, with and without the batch counting (plain jobs vs the batch's).
    const now = Date.now();
    const succeed = (jobs: Job[]) =>
      succeedManyStatements(d1, jobs, (job) => ({
        kind: "succeed",
        ref: refOf(tenant, job.id, now),
        at: now,
        result: "{}",
        progress: null,
      })).map((s) => s.statement);
    const plainWave = await rowsOf(d1, succeed(plain.jobs.slice(0, 50)));
    const batchJobs = batch.jobs.slice(0, 50);
    const progress = batchProgress(
      d1,
      batchJobs.map(() => ({ tenantId: tenant, batchId: batch.id })),
      now,
    );
    const batchWave = await rowsOf(d1, [...succeed(batchJobs), ...progress.statements]);
    // The last wave finishes the batch: the status change moves its batches_status entry too.
    const rest = batch.jobs.slice(50);
    const last = batchProgress(
      d1,
      rest.map(() => ({ tenantId: tenant, batchId: batch.id })),
      now + 1,
    );
    const finishWave = await rowsOf(d1, [...succeed(rest), ...last.statements]);
    const report = {
      plainEnqueuePerJob: plainEnqueue / 100,
      batchEnqueuePerJob: (batchEnqueue - 2) / 100,
      batchRowOnCreate: 2,
      plainWaveOf50: plainWave,
      batchWaveOf50: batchWave,
      finishingWaveOf50: finishWave,
      batchRowsPerJobTotal: (batchEnqueue + batchWave + finishWave) / 100,
      plainRowsPerJobTotal: (plainEnqueue + plainWave * 2) / 100,
    };
    console.info(`batch rows ${JSON.stringify(report)}`);
    expect(usage.unmeteredWrites).toBe(0);
    expect(plainEnqueue).toBe(100);
    // 100 job rows + 100 jobs_batch entries + the batch row and its batches_status entry.
    expect(batchEnqueue).toBe(202);
    // The counting: exactly one more row for the wave (the batch row), not one per job.
    expect(batchWave - plainWave).toBe(1);
    // Finishing: the batch row, its batches_status entry moved (delete + insert), and nothing else (no finisher asked).
    expect(finishWave - plainWave).toBeLessThanOrEqual(3);
  });

  it("the tick's batch-callback rescue reads only batches with a pending callback (the partial index), not every batch", async () => {
    const { tenant } = await newTenant("bat-rescue");
    const now = Date.now();
    const insert = env.DB.prepare(
      `INSERT INTO batches (tenant_id, id, status, open, total, created_at, updated_at, callback_url, callback_state)
       VALUES (?, ?, 'succeeded', 0, 1, ?, ?, ?, ?)`,
    );
    const pending = JSON.stringify({
      status: "pending",
      event: "batch.succeeded",
      webhookId: "msg_x",
      nextAttemptAt: null,
    });
    const delivered = JSON.stringify({ status: "delivered", event: "batch.succeeded", webhookId: "msg_y" });
    await env.DB.batch(
      Array.from({ length: 60 }, (_, i) =>
        insert.bind(
          tenant,
          `bat_${String(i).padStart(26, "0")}`,
          now - 3_600_000,
          now - 3_600_000,
          "https://x",
          i === 7 ? pending : i % 2 ? delivered : null,
        ),
      ),
    );
    const { d1, usage } = meterD1(env.DB);
    const found = await pendingBatchCallbacks(d1, now, 100);
    expect(found.filter((b) => b.tenant === tenant).map((b) => b.id)).toEqual([`bat_${"7".padStart(26, "0")}`]);
    // Only the pending rows of every tenant are read (this file's other tests leave none older than an hour).
    expect(usage.rowsRead).toBeGreaterThan(0);
    expect(usage.rowsRead).toBeLessThanOrEqual(found.length + 1);
  });
});
