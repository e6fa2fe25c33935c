import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/jobs/define-job";
import { consumeJobs } from "../../src/queue/consumer";
import { tasks } from "../../src/tasks";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

const registry = createRegistry([...tasks, ...testJobs]);
const batchOf = (queue: string, bodies: unknown[], attempts = 1) =>
  createMessageBatch<unknown>(
    queue,
    bodies.map((body, i) => ({ id: `msg-${i}`, timestamp: Date.now(), attempts, body })),
  );

/** A queue binding whose sends fail, as when the Queues service is unavailable. */
const failingQueue = {
  send: async () => {
    throw new Error("queue unavailable");
  },
  sendBatch: async () => {
    throw new Error("queue unavailable");
  },
} as unknown as Queue;

/** The real D1, except that the Nth batch() call fails once (a crash between claim and outcome write). */
function d1FailingBatch(failOn: number): D1Database {
  let calls = 0;
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => {
          calls++;
          if (calls === failOn) return Promise.reject(new Error("D1 unavailable"));
          return target.batch(statements);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

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

  it("recovers a fast job whose outcome write failed: it was never claimed, so the redelivery runs it at once", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    // Batches: 1 = load rows, 2 = outcomes (fails). A job that finishes within a second is never claimed.
    const batch = batchOf("jobs", [{ tenant, id: job.id }]);
    await consumeJobs(batch, { ...env, DB: d1FailingBatch(2) }, registry);
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
    // Batches: 1 = load rows, 2 = the claim written while the handler still runs, 3 = outcomes (fails).
    const batch = batchOf("jobs", [{ tenant, id: job.id }]);
    await consumeJobs(batch, { ...env, DB: d1FailingBatch(3) }, registry);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "msg-0" }]);
    const stuck = await waitForStatus(key, job.id, ["running"]);
    expect(stuck.attempts).toBe(1);

    // Redelivered while the claim's lease holds: it waits instead of running twice.
    const early = batchOf("jobs", [{ tenant, id: job.id }], 2);
    await consumeJobs(early, env, registry);
    const earlyResult = await getQueueResult(early, createExecutionContext());
    expect(earlyResult.retryMessages).toEqual([{ msgId: "msg-0" }]);
    expect((await waitForStatus(key, job.id, ["running"])).attempts).toBe(1);

    // Redelivered after the lease lapsed (timeout 5 s + 15 s slack): the job is taken over and finishes.
    const late = batchOf("jobs", [{ tenant, id: job.id }], 3);
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

    // Batches: 1 = load rows, 2 = the early write with the dead mark (fails): the message must come back.
    const failing = batchOf("jobs", [{ tenant, id: job.id }]);
    await consumeJobs(failing, { ...env, DB: d1FailingBatch(2) }, registry);
    const failed = await getQueueResult(failing, createExecutionContext());
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toEqual([{ msgId: "msg-0" }]);
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

  it("marks a job dead with the reason when the queue gives up on its message (DLQ)", async () => {
    const { key, tenant } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    const batch = batchOf("jobs-dlq", [{ tenant, id: job.id }], 101);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
    const dead = await waitForStatus(key, job.id, ["dead"]);
    expect(dead.error?.name).toBe("DeliveryFailedError");
    expect(dead.error?.message).toContain("after 101 tries");
    const listed = await call<{ data: { id: string }[] }>("GET", "/v1/dead", { token: key });
    expect(listed.body.data.map((j) => j.id)).toEqual([job.id]);
  });
});
