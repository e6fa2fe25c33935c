// Batch counting and finishing: exact counts from the rows, the finish and its finishers exactly once under concurrent
// commits and after a crash, the batch callback signed and delivered once.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Batch } from "../../src/contract/batches";
import type { Job } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { log } from "../../src/core/logger";
import { finisherJobId } from "../../src/db/batch-statements";
import { type AttemptRef, succeedManyStatements } from "../../src/db/consumer-statements";
import { batchProgress } from "../../src/engine/batch-progress";
import { consumeJobs } from "../../src/engine/consumer";
import { consumeDeadLetters } from "../../src/engine/dlq-consumer";
import { rescueStranded } from "../../src/scheduler/rescue";
import { verifyWebhook } from "../../src/webhooks";
import { rescueBatchCallbacks } from "../../src/webhooks/batch-callbacks";
import { deliverCallbacks } from "../../src/webhooks/callbacks";
import { call, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue } from "../fixtures/engine-doubles";
import { countedRuns, testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

type BatchWithJobs = Batch & { jobs: Job[] };
const registry = createRegistry([...defaultJobs, ...testJobs]);
const RECEIVER = "https://batch-receiver.example";

afterEach(() => vi.restoreAllMocks());

async function createBatch(key: string, body: Record<string, unknown>) {
  const { queue, sent } = capturingQueue();
  const res = await worker.fetch(
    new Request("http://edge-jobs.test/v1/batches", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    { ...env, JOBS_QUEUE: queue },
    createExecutionContext(),
  );
  expect(res.status).toBe(202);
  return { batch: (await res.json()) as BatchWithJobs, sent };
}

const refOf = (tenant: string, id: string, now: number): AttemptRef => ({
  tenant,
  id,
  attempt: 1,
  token: 0,
  startedAt: now,
  claimed: false,
});

/**
 * A consumer wave that succeeds these (unclaimed, queued) jobs, as waves.ts commits it: the outcome statement(s),
 * then the batch progress statements, in one transaction. `crash`: the transaction commits, then nothing after it runs.
 */
async function wave(tenant: string, batchId: string, ids: string[], now: number, options: { crash?: boolean } = {}) {
  const { queue, sent } = capturingQueue();
  const writes = succeedManyStatements(env.DB, ids, (id) => ({
    kind: "succeed",
    ref: refOf(tenant, id, now),
    at: now,
    result: "{}",
    progress: null,
  })).map((s) => s.statement);
  const progress = batchProgress(
    env.DB,
    ids.map(() => ({ tenantId: tenant, batchId })),
    now,
  );
  const results = await env.DB.batch([...writes, ...progress.statements]);
  if (!options.crash) await progress.afterCommit(results.slice(writes.length), queue, log);
  return sent;
}

const batchOf = async (key: string, id: string) => (await call<Batch>("GET", `/v1/batches/${id}`, { token: key })).body;

const jobIdsOf = async (tenant: string, like: string) =>
  (
    await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ? AND id LIKE ?")
      .bind(tenant, like)
      .all<{ id: string }>()
  ).results.map((r) => r.id);

describe("batch progress", () => {
  it("the last two jobs finishing in two concurrent commits finish the batch once: one onComplete, one onSuccess, one callback message", async () => {
    // Several batches at once, so the two commits of each really race with the others' on D1's one writer.
    const { key, tenant } = await newTenant("bat-race");
    const batches = await Promise.all(
      Array.from({ length: 8 }, () =>
        createBatch(key, {
          jobs: [{ type: "test-echo" }, { type: "test-echo" }],
          onComplete: { type: "test-echo", payload: { value: "c" } },
          onSuccess: { type: "test-echo", payload: { value: "s" } },
          callbackUrl: `${RECEIVER}/hook`,
        }),
      ),
    );
    const now = Date.now();
    const sends = await Promise.all(
      batches.flatMap(({ batch }) => batch.jobs.map((job) => wave(tenant, batch.id, [job.id], now))),
    );
    const sent = sends.flat();
    for (const { batch } of batches) {
      const after = await batchOf(key, batch.id);
      expect(after).toMatchObject({ status: "succeeded", total: 2, succeeded: 2, dead: 0, cancelled: 0, pending: 0 });
      expect(after.callback).toMatchObject({
        status: "pending",
        event: "batch.succeeded",
        webhookId: `msg_${batch.id.slice(4)}`,
      });
      const finishers = [finisherJobId(batch.id, "onComplete"), finisherJobId(batch.id, "onSuccess")].sort();
      expect((await jobIdsOf(tenant, `job_${batch.id.slice(4, 29)}%`)).sort()).toEqual(finishers);
      // Each finisher message and the callback message went out exactly once, from whichever commit finished the batch.
      for (const id of finishers) expect(sent.filter((m) => m.body.id === id)).toHaveLength(1);
      const callbackMessages = sent.filter((m) => m.body.id === batch.id);
      expect(callbackMessages).toEqual([{ body: { kind: "batch-callback", tenant, id: batch.id } }]);
      const onComplete = (await call<Job>("GET", `/v1/jobs/${finishers[0]}`, { token: key })).body;
      expect(onComplete.payload).toEqual({
        value: "c",
        batch: { id: batch.id, total: 2, succeeded: 2, dead: 0, cancelled: 0 },
      });
      // A late duplicate outcome (it does not land) touches the finished batch again: nothing changes, nothing is sent.
      const late = await wave(tenant, batch.id, [batch.jobs[0]?.id ?? ""], now + 5);
      expect(late).toEqual([]);
      expect(await batchOf(key, batch.id)).toEqual(after);
    }
  });

  it("one wave finishing jobs of several batches recounts and finishes each of them, in the same four statements", async () => {
    const { key, tenant } = await newTenant("bat-multi");
    const made = await Promise.all(
      [1, 2, 3].map((n) =>
        createBatch(key, {
          jobs: Array.from({ length: n }, () => ({ type: "test-echo" })),
          onComplete: { type: "test-echo" },
        }),
      ),
    );
    const rows = made.flatMap(({ batch }) => batch.jobs.map((job) => ({ job, batchId: batch.id })));
    const now = Date.now();
    const { queue, sent } = capturingQueue();
    const writes = succeedManyStatements(env.DB, rows, ({ job }) => ({
      kind: "succeed",
      ref: refOf(tenant, job.id, now),
      at: now,
      result: "{}",
      progress: null,
    })).map((w) => w.statement);
    const progress = batchProgress(
      env.DB,
      rows.map(({ batchId }) => ({ tenantId: tenant, batchId })),
      now,
    );
    expect(progress.statements).toHaveLength(4);
    const results = await env.DB.batch([...writes, ...progress.statements]);
    await progress.afterCommit(results.slice(writes.length), queue, log);
    for (const { batch } of made) {
      expect(await batchOf(key, batch.id)).toMatchObject({ status: "succeeded", succeeded: batch.total, pending: 0 });
      expect(sent.filter((m) => m.body.id === finisherJobId(batch.id, "onComplete"))).toHaveLength(1);
    }
  });

  it("an outcome that did not land does not count: a cancelled job's late success leaves it cancelled, the batch completes without onSuccess", async () => {
    const { key, tenant } = await newTenant("bat-drop");
    const { batch } = await createBatch(key, {
      jobs: [{ type: "test-echo" }, { type: "test-echo" }],
      onComplete: { type: "test-echo" },
      onSuccess: { type: "test-echo" },
    });
    const [a, b] = batch.jobs as [Job, Job];
    expect((await call("POST", `/v1/jobs/${a.id}/cancel`, { token: key })).status).toBe(200);
    // The consumer that ran `a` before the cancel commits its success with `b`'s: only b's lands.
    await wave(tenant, batch.id, [a.id, b.id], Date.now());
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "completed", succeeded: 1, cancelled: 1, pending: 0 });
    expect(await jobIdsOf(tenant, `job_${batch.id.slice(4, 29)}%`)).toEqual([finisherJobId(batch.id, "onComplete")]);
  });

  it("a consumer that dies right after the finish committed: the redelivery runs nothing, the tick's rescue sends onComplete once, its handler runs once", async () => {
    const { key, tenant } = await newTenant("bat-crash");
    const { batch } = await createBatch(key, {
      jobs: [{ type: "test-echo" }, { type: "test-echo" }],
      onComplete: { type: "test-count", payload: { ms: 0 } },
      callbackUrl: `${RECEIVER}/hook`,
    });
    const now = Date.now();
    const [a, b] = batch.jobs as [Job, Job];
    await wave(tenant, batch.id, [a.id], now);
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "running", succeeded: 1, pending: 1 });
    const finisher = finisherJobId(batch.id, "onComplete");
    await wave(tenant, batch.id, [b.id], now + 1, { crash: true });
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "succeeded", succeeded: 2 });

    // The queue redelivers b's message (never acked): the job is finished, so it is acked and nothing is sent.
    const redelivered = capturingQueue();
    const { batch: messages, answers } = answeringBatch("jobs", [
      { id: "m-b", body: { tenant, id: b.id }, attempts: 2 },
    ]);
    await consumeJobs(messages, { ...env, JOBS_QUEUE: redelivered.queue }, registry);
    expect(answers.get("m-b")?.kind).toBe("ack");
    expect(redelivered.sent).toHaveLength(0);

    // The tick's outbox rescue finds the finisher (watched, queued, due) and sends it; a second pass sends it again
    // only while it is still queued, and the consumer runs it once whatever the duplicates.
    const rescue = capturingQueue();
    const graceMs = 30_000;
    for (let i = 0; i < 3 && !rescue.sent.some((m) => m.body.id === finisher); i++) {
      await rescueStranded({ d1: env.DB, queue: rescue.queue, log, now: now + graceMs + 5_000, graceMs });
    }
    const finisherMessages = rescue.sent.filter((m) => m.body.id === finisher);
    expect(finisherMessages.length).toBeGreaterThanOrEqual(1);
    const runsBefore = countedRuns.filter((r) => r.jobId === finisher).length;
    const deliveries = [...finisherMessages, ...finisherMessages].map((m, i) => ({ id: `f${i}`, body: m.body }));
    for (const delivery of deliveries) {
      await consumeJobs(
        answeringBatch("jobs", [delivery]).batch,
        { ...env, JOBS_QUEUE: capturingQueue().queue },
        registry,
      );
    }
    expect(countedRuns.filter((r) => r.jobId === finisher).length - runsBefore).toBe(1);
    const ran = (await call<Job>("GET", `/v1/jobs/${finisher}`, { token: key })).body;
    expect(ran).toMatchObject({
      status: "succeeded",
      payload: { ms: 0, batch: { id: batch.id, total: 2, succeeded: 2 } },
    });

    // The callback message was lost with the crash: the tick's batch-callback rescue re-sends it once it is overdue.
    const callbackRescue = capturingQueue();
    expect(await rescueBatchCallbacks(env.DB, callbackRescue.queue, now + 1)).toBe(0);
    await rescueBatchCallbacks(env.DB, callbackRescue.queue, now + 10 * 60_000);
    expect(callbackRescue.sent.filter((m) => m.body.id === batch.id)).toHaveLength(1);
  });

  it("delivers the batch callback signed (Standard Webhooks, the tenant's callback secret), once, with the batch as data", async () => {
    const { key, tenant } = await newTenant("bat-hook");
    const { batch } = await createBatch(key, {
      jobs: [{ type: "test-echo" }, { type: "test-poison" }],
      callbackUrl: `${RECEIVER}/hook`,
    });
    const now = Date.now();
    const [ok, poisoned] = batch.jobs as [Job, Job];
    await env.DB.prepare("UPDATE jobs SET status = 'dead', finished_at = ? WHERE tenant_id = ? AND id = ?")
      .bind(now, tenant, poisoned.id)
      .run();
    const sent = await wave(tenant, batch.id, [ok.id], now);
    const callbackMessage = sent.find((m) => m.body.id === batch.id);
    expect(callbackMessage).toBeDefined();

    const captured: { headers: Record<string, string>; body: string }[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (!request.url.startsWith(RECEIVER)) return realFetch(input, init);
      captured.push({ headers: Object.fromEntries(request.headers), body: await request.text() });
      return new Response(null, { status: 204 });
    });
    const first = answeringBatch("jobs", [{ id: "c1", body: callbackMessage?.body }]);
    await deliverCallbacks(first.batch.messages, env);
    expect(first.answers.get("c1")?.kind).toBe("ack");
    // A duplicate message for a delivery that is over posts nothing.
    const again = answeringBatch("jobs", [{ id: "c2", body: callbackMessage?.body }]);
    await deliverCallbacks(again.batch.messages, env);
    expect(again.answers.get("c2")?.kind).toBe("ack");
    expect(captured).toHaveLength(1);

    const secret = (await call<{ secret: string }>("GET", "/v1/webhook-secret", { token: key })).body.secret;
    const event = await verifyWebhook<{ type: string; data: Batch }>(
      secret,
      captured[0]?.headers ?? {},
      captured[0]?.body ?? "",
    );
    expect(event.type).toBe("batch.completed");
    expect(event.data).toMatchObject({
      id: batch.id,
      status: "completed",
      total: 2,
      succeeded: 1,
      dead: 1,
      pending: 0,
    });
    expect(captured[0]?.headers["webhook-id"]).toBe(`msg_${batch.id.slice(4)}`);
    expect((await batchOf(key, batch.id)).callback).toMatchObject({
      status: "delivered",
      attempts: 1,
      lastStatus: 204,
    });
  });
});

/** The consumer, run in this isolate on these messages, with a queue that keeps what it sends. */
async function consume(bodies: unknown[], consumerRegistry = registry) {
  const { queue, sent } = capturingQueue();
  const { batch, answers } = answeringBatch(
    "jobs",
    bodies.map((body, i) => ({ id: `m${i}-${Math.random()}`, body })),
  );
  await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, consumerRegistry);
  return { sent, answers };
}

describe("batch progress through the real consumer and the other finishing paths", () => {
  it("the last two jobs finish in two consumers at the same moment: the batch finishes once, onComplete runs once", async () => {
    const { key, tenant } = await newTenant("bat-2c");
    const { batch, sent } = await createBatch(key, {
      jobs: [{ type: "test-echo" }, { type: "test-echo" }, { type: "test-echo" }],
      onComplete: { type: "test-count", payload: { ms: 0 } },
      callbackUrl: `${RECEIVER}/hook`,
    });
    const [first, ...lastTwo] = sent;
    await consume([first?.body]);
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "running", succeeded: 1, pending: 2 });
    // Two consumer invocations, one job each, committing their waves concurrently.
    const [one, two] = await Promise.all(lastTwo.map((m) => consume([m.body])));
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "succeeded", succeeded: 3, pending: 0 });
    const finisher = finisherJobId(batch.id, "onComplete");
    const out = [...(one?.sent ?? []), ...(two?.sent ?? [])];
    expect(out.filter((m) => m.body.id === finisher)).toHaveLength(1);
    expect(out.filter((m) => m.body.id === batch.id)).toHaveLength(1);
    const runsBefore = countedRuns.filter((r) => r.jobId === finisher).length;
    await consume(out.filter((m) => m.body.id === finisher).map((m) => m.body));
    expect(countedRuns.filter((r) => r.jobId === finisher).length - runsBefore).toBe(1);
    expect(await jobIdsOf(tenant, `job_${batch.id.slice(4, 29)}%`)).toEqual([finisher]);
  });

  it("counts a job the consumer dead-letters without running it (its type is not registered there)", async () => {
    const { key } = await newTenant("bat-dl");
    const { batch, sent } = await createBatch(key, {
      jobs: [{ type: "test-echo" }, { type: "test-flaky", payload: { failTimes: 0 } }],
    });
    // A consumer that knows test-flaky but not test-echo: the echo job is dead at triage (commitEarly), the other runs.
    await consume(
      sent.map((m) => m.body),
      createRegistry([...defaultJobs, ...testJobs.filter((j) => j.type !== "test-echo")]),
    );
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "completed", succeeded: 1, dead: 1, pending: 0 });
  });

  it("a cancel by hand of a batch's last unfinished job (POST /v1/jobs/:id/cancel) finishes the batch", async () => {
    const { key, tenant } = await newTenant("bat-cx");
    const { batch, sent } = await createBatch(key, {
      jobs: [{ type: "test-echo" }, { type: "test-echo", delaySeconds: 3600 }],
      onComplete: { type: "test-echo" },
    });
    await consume([sent[0]?.body]);
    const delayed = batch.jobs[1] as Job;
    const { queue } = capturingQueue();
    const res = await worker.fetch(
      new Request(`http://edge-jobs.test/v1/jobs/${delayed.id}/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
      }),
      { ...env, JOBS_QUEUE: queue },
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "completed", succeeded: 1, cancelled: 1, pending: 0 });
    expect(await jobIdsOf(tenant, `job_${batch.id.slice(4, 29)}%`)).toEqual([finisherJobId(batch.id, "onComplete")]);
  });

  it("counts a job the dead-letter queue marks dead (the queue gave up and its attempts are used up)", async () => {
    const { key, tenant } = await newTenant("bat-dlq");
    const { batch, sent } = await createBatch(key, {
      jobs: [{ type: "test-echo" }, { type: "test-echo" }],
      onComplete: { type: "test-echo" },
    });
    await consume([sent[0]?.body]);
    const stuck = batch.jobs[1] as Job;
    await env.DB.prepare("UPDATE jobs SET attempts = max_attempts WHERE tenant_id = ? AND id = ?")
      .bind(tenant, stuck.id)
      .run();
    const { queue, sent: out } = capturingQueue();
    const { batch: dlq } = answeringBatch("jobs-dlq", [{ id: "d1", body: { tenant, id: stuck.id }, attempts: 3 }]);
    await consumeDeadLetters(dlq, { ...env, JOBS_QUEUE: queue });
    expect(await batchOf(key, batch.id)).toMatchObject({ status: "completed", succeeded: 1, dead: 1, pending: 0 });
    expect(out.map((m) => m.body.id)).toContain(finisherJobId(batch.id, "onComplete"));
  });
});
