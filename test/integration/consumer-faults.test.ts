import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { capturingQueue, failingQueue, failingStage } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

const registry = createRegistry([...defaultJobs, ...testJobs]);
const batchOf = (queue: string, bodies: unknown[], attempts = 1) =>
  createMessageBatch<unknown>(
    queue,
    bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: Date.now(), attempts, body })),
  );

describe("the consumer under faults", () => {
  it("acks a redelivered message for a finished job without running it again", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", payload: { value: 1 } });
    const done = await waitForStatus(key, job.id, ["succeeded"]);

    const batch = batchOf("jobs", [{ tenant, id: job.id }], 2);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(result.retryMessages).toEqual([]);
    const after = await waitForStatus(key, job.id, ["succeeded"]);
    expect(after.attempts).toBe(1);
    expect(after.updatedAt).toBe(done.updatedAt);
  });

  it("acks malformed messages and messages for deleted jobs, and still runs the rest of the batch", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    await call("POST", `/v1/jobs/${job.id}/cancel`, { token: key });
    await call("POST", `/v1/jobs/${job.id}/retry`, { token: key });
    await waitForStatus(key, job.id, ["succeeded"]);
    const other = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });

    const batch = batchOf("jobs", [
      "not an object",
      { id: 5 },
      { tenant, id: "job_missing" },
      { tenant, id: other.id },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["msg-0", "msg-1", "msg-2", "msg-3"]);
    const ran = await waitForStatus(key, other.id, ["succeeded"]);
    expect(ran.attempts).toBe(1);
  });

  it("recovers a fast job whose outcome write failed: not acked, and the redelivery claims it before running it", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    // The wave that records the outcome fails. A job that finishes within a second was never claimed.
    const { d1, state } = failingStage("outcome", 1);
    const batch = batchOf("jobs", [{ tenant, id: job.id }]);
    await consumeJobs(batch, { ...env, DB: d1 }, registry);
    expect(state.failed).toBe(1);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    expect((await waitForStatus(key, job.id, ["queued"])).attempts).toBe(0);

    const again = batchOf("jobs", [{ tenant, id: job.id }], 2);
    await consumeJobs(again, env, registry);
    expect((await getQueueResult(again, createExecutionContext())).explicitAcks).toEqual(["msg-0"]);
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.attempts).toBe(1);
  });

  it("recovers a slow job whose outcome write failed: its claim's lease holds, then the job is taken over", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, {
      type: "test-sleep",
      payload: { ms: 1_500 },
      delaySeconds: 3600,
      timeoutSeconds: 5,
    });
    // The claim (written while the handler still runs) lands; the wave with the outcome fails.
    const { d1, state } = failingStage("outcome", 1);
    const batch = batchOf("jobs", [{ tenant, id: job.id }]);
    await consumeJobs(batch, { ...env, DB: d1 }, registry);
    expect(state.failed).toBe(1);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    const stuck = await waitForStatus(key, job.id, ["running"]);
    expect(stuck.attempts).toBe(1);

    // Redelivered while the claim's lease holds: it waits (acked and sent again for when the lease lapses) instead of running twice.
    const { queue, sent } = capturingQueue();
    const early = batchOf("jobs", [{ tenant, id: job.id }], 2);
    await consumeJobs(early, { ...env, JOBS_QUEUE: queue }, registry);
    const earlyResult = await getQueueResult(early, createExecutionContext());
    expect(earlyResult).toMatchObject({ explicitAcks: ["msg-0"], retryMessages: [] });
    expect(sent).toEqual([{ body: { tenant, id: job.id }, delaySeconds: expect.any(Number) }]);
    expect(sent[0]?.delaySeconds).toBeGreaterThan(15);
    expect((await waitForStatus(key, job.id, ["running"])).attempts).toBe(1);

    // That message after the lease lapsed (timeout 5 s + 15 s slack): the job is taken over and finishes.
    const late = batchOf("jobs", [sent[0]?.body], 1);
    await consumeJobs(late, env, registry, { now: () => Date.now() + 25_000, random: Math.random });
    const lateResult = await getQueueResult(late, createExecutionContext());
    expect(lateResult.explicitAcks).toEqual(["msg-0"]);
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.attempts).toBe(2);
  });

  it("drops the outcome of a job cancelled while it ran, and keeps it cancelled", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-sleep", payload: { ms: 300 }, delaySeconds: 3600 });
    const batch = batchOf("jobs", [{ tenant, id: job.id }]);
    const running = consumeJobs(batch, env, registry);
    await new Promise((r) => setTimeout(r, 100));
    expect((await call("POST", `/v1/jobs/${job.id}/cancel`, { token: key })).status).toBe(200);
    await running;
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual(["msg-0"]);
    const after = await waitForStatus(key, job.id, ["cancelled"]);
    expect(after.result).toBeNull();
  });

  it("marks a job of an unregistered type dead, acking its message only after that write commits", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    await env.DB.prepare("UPDATE jobs SET type = 'gone-type' WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .run();

    // The early write with the dead mark fails: the message is acked only with a fresh one sent to come back later.
    const { d1 } = failingStage("deadLetter", 1);
    const { queue, sent } = capturingQueue();
    const failing = batchOf("jobs", [{ tenant, id: job.id }]);
    await consumeJobs(failing, { ...env, DB: d1, JOBS_QUEUE: queue }, registry);
    const failed = await getQueueResult(failing, createExecutionContext());
    expect(failed).toMatchObject({ explicitAcks: ["msg-0"], retryMessages: [] });
    expect(sent).toEqual([{ body: { tenant, id: job.id }, delaySeconds: 10 }]);
    expect((await waitForStatus(key, job.id, ["queued"])).attempts).toBe(0);

    const batch = batchOf("jobs", [{ tenant, id: job.id }], 2);
    await consumeJobs(batch, env, registry);
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual(["msg-0"]);
    const dead = await waitForStatus(key, job.id, ["dead"]);
    expect(dead.error?.message).toBe('job type "gone-type" is not registered in this deployment');
  });

  it("keeps a job whose queue send failed, answers 202, and the tick's outbox rescue runs it", async () => {
    const { key } = await newTenant();
    const res = await worker.fetch(
      new Request("http://x/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "test-echo", payload: { value: "rescued" } }),
      }),
      { ...env, JOBS_QUEUE: failingQueue },
      createExecutionContext(),
    );
    expect(res.status).toBe(202);
    const job = (await res.json()) as { id: string; status: string };
    expect(job.status).toBe("queued");

    // A tick inside the grace period leaves it alone; one after it re-sends the message.
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now() + 60_000 }),
      env,
      createExecutionContext(),
    );
    expect((await waitForStatus(key, job.id, ["queued"])).attempts).toBe(0);
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now() + 301_000 }),
      env,
      createExecutionContext(),
    );
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.result).toEqual({ echoed: "rescued" });
  });

  it("puts a job the queue gave up on back in line while it has attempts left (DLQ), watched by the rescue", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    const { queue, sent } = capturingQueue();
    const batch = batchOf("jobs-dlq", [{ tenant, id: job.id }], 101);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, JOBS_QUEUE: queue }, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    expect(sent).toEqual([{ body: { tenant, id: job.id }, delaySeconds: undefined }]);
    const back = await waitForStatus(key, job.id, ["queued"]);
    expect(back.attempts).toBe(0);
    expect(back.attemptLog.map((a) => a.error?.message)).toEqual(["the queue gave up after 101 tries; back in line"]);
    const row = await env.DB.prepare("SELECT outbox FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .first<{ outbox: number }>();
    expect(row?.outbox).toBe(1);

    // The re-sent message runs it.
    const next = batchOf("jobs", [sent[0]?.body]);
    await consumeJobs(next, env, registry);
    expect((await waitForStatus(key, job.id, ["succeeded"])).attempts).toBe(1);
  });

  it("marks a dead-lettered job dead with the reason when its attempts are used up, or after its third time there", async () => {
    const { key, tenant } = await newTenant();
    const used = await enqueue(key, { type: "test-echo", delaySeconds: 3600, maxAttempts: 2 });
    await env.DB.prepare("UPDATE jobs SET status = 'retrying', attempts = 2 WHERE tenant_id = ? AND id = ?")
      .bind(tenant, used.id)
      .run();
    const again = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    const { queue } = capturingQueue();
    for (let time = 1; time <= 3; time++) {
      const bodies =
        time === 1
          ? [
              { tenant, id: used.id },
              { tenant, id: again.id },
            ]
          : [{ tenant, id: again.id }];
      const batch = batchOf("jobs-dlq", bodies, 101);
      const ctx = createExecutionContext();
      await worker.queue(batch, { ...env, JOBS_QUEUE: queue }, ctx);
      expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
      if (time < 3) expect((await waitForStatus(key, again.id, ["queued"])).status).toBe("queued");
    }
    const dead = await waitForStatus(key, used.id, ["dead"]);
    expect(dead.error?.name).toBe("DeliveryFailedError");
    expect(dead.error?.message).toBe(
      "the queue gave up delivering this job after 101 tries and all 2 attempts are used up",
    );
    const gaveUp = await waitForStatus(key, again.id, ["dead"]);
    expect(gaveUp.error?.message).toBe(
      "the queue gave up delivering this job 3 times: the consumer keeps failing on it",
    );
    const listed = await call<{ data: { id: string }[] }>("GET", "/v1/dead", { token: key });
    expect(listed.body.data.map((j) => j.id).sort()).toEqual([used.id, again.id].sort());
  });

  it("flags the job of a dead-lettered callback message, so the tick's rescue re-sends it whatever its id's age", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600, callbackUrl: "http://127.0.0.1:1/hook" });
    await env.DB.prepare("UPDATE jobs SET outbox = 0 WHERE tenant_id = ? AND id = ?").bind(tenant, job.id).run();
    const { queue } = capturingQueue();
    await consumeJobs(batchOf("jobs", [{ tenant, id: job.id }]), { ...env, JOBS_QUEUE: queue }, registry);
    expect((await waitForStatus(key, job.id, ["succeeded"])).callback).toMatchObject({ status: "pending" });
    const outbox = async () =>
      (
        await env.DB.prepare("SELECT outbox FROM jobs WHERE tenant_id = ? AND id = ?")
          .bind(tenant, job.id)
          .first<{ outbox: number }>()
      )?.outbox;
    expect(await outbox()).toBe(0);

    const batch = batchOf("jobs-dlq", [{ kind: "callback", tenant, id: job.id }], 101);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    expect(await outbox()).toBe(1);
  });
});
