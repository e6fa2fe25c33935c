import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, failingStage } from "../fixtures/engine-doubles";
import { countedRuns, testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

const registry = createRegistry([...defaultJobs, ...testJobs]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const runsOf = (jobId: string) => countedRuns.filter((run) => run.jobId === jobId);

/** Enqueued an hour ahead, so the real queue's consumer leaves the job to the test's own deliveries. */
const later = (key: string, body: Record<string, unknown>) => enqueue(key, { delaySeconds: 3600, ...body });

describe("settle as you go", () => {
  it("records and acks a fast job within 2 s of finishing while a 30 s sibling still runs", async () => {
    const { key, tenant } = await newTenant("waves");
    const fast = await later(key, { type: "test-count", payload: { ms: 50 } });
    const slow = await later(key, { type: "test-count", payload: { ms: 30_000 }, timeoutSeconds: 60 });
    const { batch, answers } = answeringBatch("jobs", [
      { id: "fast", body: { tenant, id: fast.id } },
      { id: "slow", body: { tenant, id: slow.id } },
    ]);
    const consuming = consumeJobs(batch, env, registry);

    const done = await waitForStatus(key, fast.id, ["succeeded"], 5_000);
    const finishedAt = runsOf(fast.id)[0]?.end ?? 0;
    expect(Date.parse(done.finishedAt ?? "") - finishedAt).toBeLessThan(2_000);
    expect(answers.get("fast")?.kind).toBe("ack");
    expect((answers.get("fast")?.at ?? Infinity) - finishedAt).toBeLessThan(2_000);
    // Meanwhile the sibling is claimed (running, with a lease) and its message is not answered yet.
    expect((await waitForStatus(key, slow.id, ["running"], 1_000)).attempts).toBe(1);
    expect(answers.has("slow")).toBe(false);

    await consuming;
    expect(answers.get("slow")?.kind).toBe("ack");
    expect((await waitForStatus(key, slow.id, ["succeeded"])).attempts).toBe(1);
  }, 60_000);

  it("drops the outcome of a run that started before a cancel + retry by hand, and the new run's counts", async () => {
    const { key, tenant } = await newTenant("stale");
    const job = await later(key, { type: "test-count", payload: { ms: 600 } });
    const { batch, answers } = answeringBatch("jobs", [{ id: "old", body: { tenant, id: job.id } }]);
    const oldRun = consumeJobs(batch, env, registry);
    await sleep(100);

    // Within the first second the run is not claimed yet: the job can be cancelled, then retried by hand.
    expect((await call("POST", `/v1/jobs/${job.id}/cancel`, { token: key })).status).toBe(200);
    const { queue, sent } = capturingQueue();
    const retried = await worker.fetch(
      new Request(`http://x/v1/jobs/${job.id}/retry`, { method: "POST", headers: { authorization: `Bearer ${key}` } }),
      { ...env, JOBS_QUEUE: queue },
      createExecutionContext(),
    );
    expect(retried.status).toBe(200);
    const retriedAt = Date.now();

    await oldRun;
    // The old run finished, but its outcome matched the new run's state (attempts 0, queued) only by accident: dropped.
    expect(answers.get("old")?.kind).toBe("ack");
    const between = await waitForStatus(key, job.id, ["queued"]);
    expect(between).toMatchObject({ attempts: 0, result: null, finishedAt: null });

    // The retry's own message runs the job; its outcome is the one recorded.
    expect(sent).toHaveLength(1);
    const next = answeringBatch("jobs", [{ id: "new", body: sent[0]?.body }]);
    await consumeJobs(next.batch, env, registry);
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.attempts).toBe(1);
    expect(Date.parse(done.startedAt ?? "")).toBeGreaterThanOrEqual(retriedAt);
    expect(runsOf(job.id)).toHaveLength(2);
  });
});

describe("attempts are checked before a run", () => {
  it("marks dead, without running it, a job whose last attempt never reported (its consumer crashed)", async () => {
    const { key, tenant } = await newTenant("crash");
    const job = await later(key, { type: "test-count", payload: { ms: 0 }, maxAttempts: 2 });
    // As a crash loop leaves it: both attempts claimed, the last claim's lease lapsed.
    await env.DB.prepare(
      "UPDATE jobs SET status = 'running', attempts = 2, lease_until = ? WHERE tenant_id = ? AND id = ?",
    )
      .bind(Date.now() - 1_000, tenant, job.id)
      .run();
    const { batch, answers } = answeringBatch("jobs", [{ id: "m", body: { tenant, id: job.id }, attempts: 3 }]);
    await consumeJobs(batch, env, registry);
    expect(answers.get("m")?.kind).toBe("ack");
    const dead = await waitForStatus(key, job.id, ["dead"]);
    expect(dead.error).toMatchObject({ name: "AttemptsExhaustedError", attempt: 2 });
    expect(dead.error?.message).toContain("all 2 attempts were used up");
    expect(runsOf(job.id)).toHaveLength(0);
  });

  it("counts runs whose outcome was never recorded: a consumer that keeps dying after the handler stops at maxAttempts", async () => {
    const { key, tenant } = await newTenant("crash");
    const job = await later(key, { type: "test-count", payload: { ms: 0 }, maxAttempts: 3 });
    // Every wave that records an outcome fails, as when the invocation dies right after the handler returned.
    const { d1, state } = failingStage("outcome");
    let answer: string | undefined;
    for (let delivery = 1; delivery <= 8 && answer !== "ack"; delivery++) {
      const { batch, answers } = answeringBatch("jobs", [
        { id: "m", body: { tenant, id: job.id }, attempts: delivery },
      ]);
      // Each redelivery comes after the last claim's lease (timeout 10 s + 15 s slack) lapsed.
      await consumeJobs(batch, { ...env, DB: d1 }, registry, {
        now: () => Date.now() + delivery * 30_000,
        random: Math.random,
      });
      answer = answers.get("m")?.kind;
      // Not recorded, so not acked: the queue brings the same message back.
      if (answer !== "ack") expect(answers.get("m")).toMatchObject({ kind: "retry" });
    }
    // The first run was never claimed; each redelivery claims (counts) its attempt before it runs, and after
    // three claimed attempts the job is dead instead of run a fifth time.
    expect(runsOf(job.id).map((run) => run.attempt)).toEqual([1, 1, 2, 3]);
    expect(state.failed).toBe(4);
    const dead = await waitForStatus(key, job.id, ["dead"]);
    expect(dead.error?.name).toBe("AttemptsExhaustedError");
    expect(dead.attempts).toBe(3);
  });

  it("caps an attempt's timeout under the consumer's wall clock: 900 s runs as 840 s", async () => {
    const { key, tenant } = await newTenant("cap");
    const job = await later(key, { type: "test-count", payload: { ms: 1_500 }, timeoutSeconds: 900 });
    const { batch } = answeringBatch("jobs", [{ id: "m", body: { tenant, id: job.id } }]);
    const consuming = consumeJobs(batch, env, registry);
    const running = await waitForStatus(key, job.id, ["running"], 3_000);
    const row = await env.DB.prepare("SELECT lease_until, started_at FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .first<{ lease_until: number; started_at: number }>();
    await consuming;
    expect(running.attempts).toBe(1);
    // The claim's lease: the capped timeout plus 15 s of slack, from about a second after the start.
    const leaseMs = (row?.lease_until ?? 0) - (row?.started_at ?? 0);
    expect(leaseMs).toBeGreaterThan(855_000);
    expect(leaseMs).toBeLessThan(857_500);
  });
});
