import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { idFloor } from "../../src/core/ids";
import { consumeJobs } from "../../src/engine/consumer";
import { enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, unreachableGates } from "../fixtures/engine-doubles";
import { countedRuns, testJobs } from "../fixtures/test-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs]);
const runsOf = (jobId: string) => countedRuns.filter((run) => run.jobId === jobId);
const later = (key: string, body: Record<string, unknown>) => enqueue(key, { delaySeconds: 3600, ...body });

/** The queue's retry budget (max_retries in wrangler.toml): past it, a message goes to the dead-letter queue. */
const MAX_RETRIES = 100;

describe("waits never spend the queue's retry budget", () => {
  it("keeps a job alive through a flow-gate outage longer than 100 redeliveries, then runs it", async () => {
    const { key, tenant } = await newTenant("outage");
    const job = await later(key, { type: "test-count", payload: { ms: 0 }, flow: { key: "down", concurrency: 1 } });
    const { queue, sent } = capturingQueue();
    let body: JobMessage = { tenant, id: job.id };
    // Each delivery while the gate is down: acked, and a fresh message (delivery count 1) comes back after a delay.
    for (let delivery = 0; delivery < MAX_RETRIES + 5; delivery++) {
      const { batch, answers } = answeringBatch("jobs", [{ id: `m${delivery}`, body }]);
      await consumeJobs(batch, { ...env, KEY_GATE: unreachableGates, JOBS_QUEUE: queue }, registry);
      expect(answers.get(`m${delivery}`)?.kind).toBe("ack");
      expect(sent).toHaveLength(delivery + 1);
      expect(sent[delivery]?.delaySeconds).toBe(5);
      body = sent[delivery]?.body as JobMessage;
    }
    const waiting = await waitForStatus(key, job.id, ["queued"]);
    expect(waiting.attempts).toBe(0);
    expect(runsOf(job.id)).toHaveLength(0);

    // The gate is back: the last message runs the job.
    const { batch, answers } = answeringBatch("jobs", [{ id: "back", body }]);
    await consumeJobs(batch, env, registry);
    expect(answers.get("back")?.kind).toBe("ack");
    expect((await waitForStatus(key, job.id, ["succeeded"])).attempts).toBe(1);
    expect(runsOf(job.id)).toHaveLength(1);
  });
});

describe("duplicate deliveries", () => {
  it("never share a flow slot: a second delivery of a running job waits, and the key's concurrency holds", async () => {
    const { key, tenant } = await newTenant("dup");
    const job = await later(key, { type: "test-count", payload: { ms: 1_500 }, flow: { key: "one", concurrency: 1 } });
    const { queue, sent } = capturingQueue();
    const first = answeringBatch("jobs", [{ id: "first", body: { tenant, id: job.id } }]);
    const second = answeringBatch("jobs", [{ id: "second", body: { tenant, id: job.id } }]);
    // Two deliveries of one job inside its first second (before any claim), in two consumer invocations.
    const running = consumeJobs(first.batch, { ...env, JOBS_QUEUE: queue }, registry);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await consumeJobs(second.batch, { ...env, JOBS_QUEUE: queue }, registry);
    await running;

    // One run: the second delivery asked for a slot of its own and was deferred (acked, sent again for later).
    expect(runsOf(job.id)).toHaveLength(1);
    expect(second.answers.get("second")?.kind).toBe("ack");
    expect(sent.map((m) => m.body)).toEqual([{ tenant, id: job.id }]);
    expect(first.answers.get("first")?.kind).toBe("ack");
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.attempts).toBe(1);
    expect(done.attemptLog.map((a) => a.outcome)).toEqual(["deferred"]);
  });

  it("aborts, through ctx.signal, the run that loses the claim", async () => {
    const { key, tenant } = await newTenant("dup");
    const job = await later(key, { type: "test-count", payload: { ms: 4_000 } });
    const first = answeringBatch("jobs", [{ id: "first", body: { tenant, id: job.id } }]);
    const second = answeringBatch("jobs", [{ id: "second", body: { tenant, id: job.id } }]);
    const started = Date.now();
    // No flow key: both deliveries start the handler; the claim written after a second picks one.
    await Promise.all([consumeJobs(first.batch, env, registry), consumeJobs(second.batch, env, registry)]);

    const runs = runsOf(job.id);
    expect(runs).toHaveLength(2);
    const lost = runs.filter((run) => run.abortedBy === "ClaimLostError");
    expect(lost).toHaveLength(1);
    // Aborted when the claim was lost (about a second in), not at the end of its sleep.
    expect((lost[0]?.end ?? 0) - started).toBeLessThan(2_500);
    expect(runs.filter((run) => run.abortedBy === null)).toHaveLength(1);
    expect([first.answers.get("first")?.kind, second.answers.get("second")?.kind]).toEqual(["ack", "ack"]);
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.attempts).toBe(1);
    expect(done.attemptLog).toEqual([]);
  });
});

describe("rows the fresh-id rescue scan would miss are flagged for the outbox index", () => {
  const outboxOf = async (tenant: string, id: string) =>
    (
      await env.DB.prepare("SELECT outbox FROM jobs WHERE tenant_id = ? AND id = ?")
        .bind(tenant, id)
        .first<{ outbox: number }>()
    )?.outbox;

  it("flags a flow deferral that takes a job past half the rescue window", async () => {
    const { key, tenant } = await newTenant("watch");
    const flow = { key: "hourly", rate: { limit: 1, periodSeconds: 3600 } };
    const first = await later(key, { type: "test-count", payload: { ms: 0 }, flow });
    const second = await later(key, { type: "test-count", payload: { ms: 0 }, flow });
    // As jobs enqueued to run now (the hour's delay above flagged them for the outbox index).
    await env.DB.prepare("UPDATE jobs SET outbox = 0 WHERE tenant_id = ?").bind(tenant).run();
    const { queue, sent } = capturingQueue();
    const { batch } = answeringBatch("jobs", [
      { id: "a", body: { tenant, id: first.id } },
      { id: "b", body: { tenant, id: second.id } },
    ]);
    await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
    const waiting = [first.id, second.id].find((id) => runsOf(id).length === 0) as string;
    expect(sent.map((m) => m.body.id)).toEqual([waiting]);
    expect(sent[0]?.delaySeconds).toBeGreaterThan(1800);
    expect(await outboxOf(tenant, waiting)).toBe(1);
  });

  it("flags the pending callback of a job whose id is older than half the window", async () => {
    const { tenant, key } = await newTenant("watch");
    const id = `${idFloor("job", Date.now() - 2 * 3600_000)}OLDCALLBACK00000`;
    await env.DB.prepare(
      `INSERT INTO jobs (tenant_id, id, type, status, payload, max_attempts, options, run_at, created_at, updated_at,
         metadata, callback_url) VALUES (?1, ?2, 'test-count', 'retrying', '{"ms":0}', 3, ?3, ?4, ?4, ?4, '{}', ?5)`,
    )
      .bind(
        tenant,
        id,
        JSON.stringify({ backoff: { type: "fixed", delaySeconds: 1 }, timeoutSeconds: 5 }),
        Date.now(),
        "http://127.0.0.1:1/hook",
      )
      .run();
    const { queue } = capturingQueue();
    const { batch } = answeringBatch("jobs", [{ id: "m", body: { tenant, id } }]);
    await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
    const done = await waitForStatus(key, id, ["succeeded"]);
    expect(done.callback).toMatchObject({ status: "pending", event: "job.succeeded" });
    expect(await outboxOf(tenant, id)).toBe(1);
  });
});
