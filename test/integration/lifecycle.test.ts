import { describe, expect, it } from "vitest";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";

describe("job lifecycle through the real queue and D1", () => {
  it("enqueues a job that the consumer runs to succeeded", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", payload: { value: "hi" }, metadata: { orderId: "o-1" } });
    expect(job.status).toBe("queued");
    expect(job.id).toMatch(/^job_[0-9A-Z]{26}$/);
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.result).toEqual({ echoed: "hi" });
    expect(done.attempts).toBe(1);
    expect(done.metadata).toEqual({ orderId: "o-1" });
    expect(done.finishedAt).not.toBeNull();
  });

  it("retries a failing job and records the failed attempts", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-flaky", payload: { failTimes: 2 } });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(3);
    expect(done.result).toEqual({ attempt: 3 });
    expect(done.attemptLog.map((a) => [a.attempt, a.outcome, a.error?.message])).toEqual([
      [1, "failed", "planned failure 1"],
      [2, "failed", "planned failure 2"],
    ]);
  });

  it("sends a job whose attempts run out to dead, lists it, and replays it to succeeded", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-flaky", payload: { failTimes: 3 }, maxAttempts: 2 });
    const dead = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(dead.status).toBe("dead");
    expect(dead.attempts).toBe(2);
    expect(dead.error).toMatchObject({ message: "planned failure 2", attempt: 2 });

    const list = await call<{ data: { id: string }[] }>("GET", "/v1/dead", { token: key });
    expect(list.body.data.map((j) => j.id)).toEqual([job.id]);

    // After the replay the attempt count restarts, and the handler fails on attempts 1…3 only.
    const retried = await call<{ status: string; attempts: number }>("POST", `/v1/jobs/${job.id}/retry`, {
      token: key,
    });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: "queued", attempts: 0 });
    const again = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(again.status).toBe("dead");

    const replay = await call<{ retried: number }>("POST", "/v1/dead/retry", { token: key, body: {} });
    expect(replay.body).toEqual({ retried: 1 });
    expect((await waitForStatus(key, job.id, ["succeeded", "dead"])).status).toBe("dead");
  });

  it("sends a NonRetryableError straight to dead after one attempt", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-poison", payload: {} });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("dead");
    expect(done.attempts).toBe(1);
    expect(done.error).toMatchObject({ name: "NonRetryableError", message: "this input can never succeed" });
  });

  it("times out an attempt that runs too long, then retries it", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-sleep", payload: { ms: 3_000 } });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"], 25_000);
    expect(done.status).toBe("dead");
    expect(done.attempts).toBe(2);
    expect(done.attemptLog[0]).toMatchObject({ outcome: "timed_out" });
    expect(done.error).toMatchObject({ name: "TimeoutError", message: "attempt timed out after 1s" });
  });
});
