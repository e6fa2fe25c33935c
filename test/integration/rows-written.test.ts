import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { meterD1 } from "../../src/metering/d1";
import { newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { capturingQueue } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

const JOBS = 10;

describe("D1 rows written per job (our main cost)", () => {
  it("writes one row per plain job on enqueue and one when it finishes, plus one counter row per batch", async () => {
    const { key, tenant } = await newTenant("meter");
    const { d1, usage } = meterD1(env.DB);
    const { queue, sent } = capturingQueue();
    const meteredEnv = { ...env, DB: d1, JOBS_QUEUE: queue };

    const enqueueRes = await worker.fetch(
      new Request("http://x/v1/jobs/batch", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ jobs: Array.from({ length: JOBS }, (_, i) => ({ type: "test-echo", payload: { i } })) }),
      }),
      meteredEnv,
      createExecutionContext(),
    );
    expect(enqueueRes.status).toBe(202);
    const enqueueRows = usage.rowsWritten;
    expect(sent).toHaveLength(JOBS);

    const batch = createMessageBatch<JobMessage>(
      "jobs",
      sent.map((m, i) => ({ id: `m${i}`, timestamp: Date.now(), attempts: 1, body: m.body })),
    );
    await consumeJobs(batch, meteredEnv, createRegistry([...defaultJobs, ...testJobs]));
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks).toHaveLength(JOBS);
    const consumeRows = usage.rowsWritten - enqueueRows;
    const counterRows = await env.DB.prepare("SELECT count(*) AS n FROM metrics_minute WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ n: number }>();

    expect(usage.unmeteredWrites).toBe(0);
    // One WITHOUT ROWID row per job on insert; one update to finish (a fast job is never claimed), no index touched.
    expect(enqueueRows).toBe(JOBS);
    expect(consumeRows - (counterRows?.n ?? 0)).toBe(JOBS);
    expect(counterRows?.n).toBeLessThanOrEqual(2);
    console.info(JSON.stringify({ jobs: JOBS, enqueueRows, consumeRows, counterRows: counterRows?.n }));
  });

  it("claims a job that runs longer than a second: one more row, and it shows as running meanwhile", async () => {
    const { key, tenant } = await newTenant("meter-slow");
    const { queue, sent } = capturingQueue();
    const enqueued = await worker.fetch(
      new Request("http://x/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "test-sleep", payload: { ms: 1_500 }, timeoutSeconds: 5 }),
      }),
      { ...env, JOBS_QUEUE: queue },
      createExecutionContext(),
    );
    const { id } = (await enqueued.json()) as { id: string };
    const { d1, usage } = meterD1(env.DB);
    const batch = createMessageBatch<JobMessage>("jobs", [
      { id: "m0", timestamp: Date.now(), attempts: 1, body: sent[0]?.body as JobMessage },
    ]);
    const consuming = consumeJobs(
      batch,
      { ...env, DB: d1, JOBS_QUEUE: queue },
      createRegistry([...defaultJobs, ...testJobs]),
    );
    await new Promise((r) => setTimeout(r, 1_300));
    const mid = await env.DB.prepare("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, id)
      .first<{ status: string }>();
    expect(mid?.status).toBe("running");
    await consuming;
    const counterRows = await env.DB.prepare("SELECT count(*) AS n FROM metrics_minute WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ n: number }>();
    expect(usage.rowsWritten - (counterRows?.n ?? 0)).toBe(2);
  });

  it("settles a consumer batch of 100 fast jobs in one wave: 2 D1 round trips, 3 queries, 1 row per job, 1 counter row", async () => {
    const { key, tenant } = await newTenant("meter-wave");
    const { queue, sent } = capturingQueue();
    const enqueued = await worker.fetch(
      new Request("http://x/v1/jobs/batch", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ jobs: Array.from({ length: 100 }, (_, i) => ({ type: "test-echo", payload: { i } })) }),
      }),
      { ...env, JOBS_QUEUE: queue },
      createExecutionContext(),
    );
    expect(enqueued.status).toBe(202);
    const { d1, usage } = meterD1(env.DB);
    let roundTrips = 0;
    const counting = new Proxy(d1, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === "batch") roundTrips++;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const batch = createMessageBatch<JobMessage>(
      "jobs",
      sent.map((m, i) => ({ id: `m${i}`, timestamp: Date.now(), attempts: 1, body: m.body })),
    );
    const started = Date.now();
    await consumeJobs(
      batch,
      { ...env, DB: counting, JOBS_QUEUE: queue },
      createRegistry([...defaultJobs, ...testJobs]),
    );
    const elapsed = Date.now() - started;
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toHaveLength(100);
    const counterRows = await env.DB.prepare("SELECT count(*) AS n FROM metrics_minute WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ n: number }>();
    // One SELECT batch to load, one wave for every outcome and the counter; no claim (nothing ran a second).
    expect(roundTrips).toBe(2);
    // Three queries in all (the load, the wave's successes as one statement, the counter): far under D1's
    // per-invocation query limit, even the Free plan's 50.
    expect(usage.statements).toBe(3);
    expect(usage.rowsWritten).toBe(100 + (counterRows?.n ?? 0));
    expect(counterRows?.n).toBe(1);
    expect(elapsed).toBeLessThan(1_000);
    console.info(
      JSON.stringify({
        jobs: 100,
        roundTrips,
        queries: usage.statements,
        rowsWritten: usage.rowsWritten,
        elapsedMs: elapsed,
      }),
    );
  });
});
