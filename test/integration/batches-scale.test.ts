import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Batch } from "../../src/contract/batches";
import { createRegistry } from "../../src/core/define-job";
import { finisherJobId, progressStatements } from "../../src/db/batch-statements";
import { consumeJobs } from "../../src/engine/consumer";
import { meterD1 } from "../../src/metering/d1";
import { newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, type Sent } from "../fixtures/engine-doubles";
import { countedRuns, testJobs } from "../fixtures/test-jobs";
import { workerRequest } from "../fixtures/worker-request";

const registry = createRegistry([...defaultJobs, ...testJobs]);

/** Delivers the messages to the consumer 100 at a time (a queue batch), as the queue would, until none is left. */
async function consumeAll(sent: Sent[], testEnv: Env) {
  let delivered = 0;
  while (delivered < sent.length) {
    const chunk = sent.slice(delivered, delivered + 100);
    delivered += chunk.length;
    const { batch, answers } = answeringBatch(
      "jobs",
      chunk.map((m, i) => ({ id: `m${delivered + i}`, body: m.body })),
    );
    await consumeJobs(batch, testEnv, registry);
    expect([...answers.values()].every((a) => a.kind === "ack")).toBe(true);
  }
}

const echo = (n: number, from: number, poisonEvery = 0) =>
  Array.from({ length: n }, (_, i) =>
    poisonEvery > 0 && (from + i) % poisonEvery === 0 ? { type: "test-poison" } : { type: "test-echo" },
  );

describe("batches at scale", () => {
  it("5,000 jobs added in 50 requests of 100 complete with exact counts; the batch finishes once and onComplete runs once", async () => {
    const { key, tenant } = await newTenant("bat-5k");
    const { d1, usage } = meterD1(env.DB);
    const { queue, sent } = capturingQueue();
    const testEnv = { ...env, DB: d1, JOBS_QUEUE: queue };
    const api = workerRequest(testEnv, key);

    const created = await api<Batch & { id: string }>("POST", "/v1/batches", {
      jobs: echo(100, 0, 1000),
      open: true,
      onComplete: { type: "test-count", payload: { ms: 0 } },
      onSuccess: { type: "test-echo" },
    });
    expect(created.status).toBe(202);
    const id = created.body.id;
    for (let i = 1; i < 50; i++) {
      const added = await api<Batch>("POST", `/v1/batches/${id}/jobs`, { jobs: echo(100, i * 100, 1000) });
      expect(added.status).toBe(202);
      expect(added.body.total).toBe((i + 1) * 100);
    }
    const enqueueRows = usage.rowsWritten;
    expect(sent).toHaveLength(5000);

    // Jobs run while the batch is still open: it must not finish before it is closed.
    await consumeAll(sent.splice(0, 4900), testEnv);
    const midway = await api<Batch>("GET", `/v1/batches/${id}`);
    expect(midway.body).toMatchObject({ status: "running", open: true, total: 5000, pending: 100 });
    expect(midway.body.succeeded + midway.body.dead).toBe(4900);
    // What one wave's counting reads on a running 5,000-job batch: the recount alone (it changes nothing here).
    const [recount] = await env.DB.batch(progressStatements(env.DB, [{ tenant, batchId: id }], Date.now()));
    expect(recount?.meta.rows_written).toBe(0);
    expect((await api<Batch>("POST", `/v1/batches/${id}/close`)).body).toMatchObject({
      status: "running",
      open: false,
    });

    const beforeLast = usage.rowsWritten;
    await consumeAll(sent.splice(0, 100), testEnv);
    const finished = await api<Batch>("GET", `/v1/batches/${id}`);
    // Every 1000th job is a poison job (dead at once): 5 dead, 4,995 succeeded.
    expect(finished.body).toMatchObject({
      status: "completed",
      total: 5000,
      succeeded: 4995,
      dead: 5,
      cancelled: 0,
      pending: 0,
      finishedAt: expect.any(String),
    });
    const counted = await env.DB.prepare(
      "SELECT status, count(*) AS n FROM jobs WHERE tenant_id = ? AND batch_id = ? GROUP BY status ORDER BY status",
    )
      .bind(tenant, id)
      .all<{ status: string; n: number }>();
    expect(counted.results).toEqual([
      { status: "dead", n: 5 },
      { status: "succeeded", n: 4995 },
    ]);

    // The finish sent onComplete (not onSuccess: some died) exactly once; it runs once with the counts.
    const finisher = finisherJobId(id, "onComplete");
    expect(sent.map((m) => m.body.id)).toEqual([finisher]);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ? AND id = ?")
        .bind(tenant, finisherJobId(id, "onSuccess"))
        .first("n"),
    ).toBe(0);
    const runsBefore = countedRuns.filter((r) => r.jobId === finisher).length;
    await consumeAll(sent.splice(0), testEnv);
    expect(countedRuns.filter((r) => r.jobId === finisher).length - runsBefore).toBe(1);

    // The cost, reported: rows written per batched job over its whole life (enqueue + run + the batch's counting).
    const consumeRows = beforeLast - enqueueRows + (usage.rowsWritten - beforeLast);
    const counterRows = await env.DB.prepare("SELECT count(*) AS n FROM metrics_minute WHERE tenant_id = ?")
      .bind(tenant)
      .first<number>("n");
    const report = {
      jobs: 5000,
      enqueueRowsPerJob: enqueueRows / 5000,
      consumeRowsPerJob: consumeRows / 5000,
      totalRowsPerJob: usage.rowsWritten / 5000,
      counterRows,
      recountRowsRead: recount?.meta.rows_read,
      rowsRead: usage.rowsRead,
    };
    console.info(`batch rows ${JSON.stringify(report)}`);
    expect(usage.unmeteredWrites).toBe(0);
    // A plain job costs 1 row to enqueue and 1 to finish; a batched one adds its jobs_batch index row (2 to enqueue),
    // and the counting adds at most one batch row per batch per wave, not one per job.
    expect(report.enqueueRowsPerJob).toBeLessThan(2.1);
    expect(report.consumeRowsPerJob).toBeLessThan(1.3);
  }, 120_000);
});
