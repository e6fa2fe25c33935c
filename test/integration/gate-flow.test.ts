import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { flowGate } from "../../src/gate/gate-client";
import { call, enqueue, type JobDetail, newTenant, waitForStatus } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { testJobs } from "../fixtures/test-jobs";

type Timed = JobDetail & { result: { start: number; end: number } | null };
type FlowView = { key: string; rate: unknown; concurrency: number | null; running: number; waiting: number };

async function enqueueBatch(key: string, jobs: Record<string, unknown>[]): Promise<Job[]> {
  const res = await call<{ jobs: Job[] }>("POST", "/v1/jobs/batch", { token: key, body: { jobs } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.jobs;
}

/** Polls until every job has finished, then answers them with their attempt logs. */
async function waitAll(key: string, ids: string[], timeoutMs: number): Promise<Timed[]> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, Timed>();
  while (Date.now() < deadline && done.size < ids.length) {
    const res = await call<{ data: Job[] }>("GET", "/v1/jobs?type=test-timed&limit=100", { token: key });
    for (const job of res.body.data) {
      if (["succeeded", "dead", "cancelled"].includes(job.status) && !done.has(job.id)) {
        done.set(job.id, (await call<Timed>("GET", `/v1/jobs/${job.id}`, { token: key })).body);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(done.size, "jobs finished in time").toBe(ids.length);
  return ids.map((id) => done.get(id) as Timed);
}

const flowOf = (key: string, flowKey: string) =>
  call<FlowView>("GET", `/v1/flows/${encodeURIComponent(flowKey)}`, { token: key });

/** The largest number of [start, end) intervals that overlap at any instant. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  return Math.max(...intervals.map((a) => intervals.filter((b) => b.start <= a.start && a.start < b.end).length));
}

describe("flow control (KeyGate per tenant + flow key)", () => {
  it("rate 5 per second over 50 jobs never starts more than 5 in any one-second window", async () => {
    const { key } = await newTenant("flow");
    const flow = { key: "rate-5", rate: { limit: 5, periodSeconds: 1 } };
    // maxAttempts 1 (the type's): if a deferral counted as an attempt, a deferred job would go dead.
    const jobs = await enqueueBatch(
      key,
      Array.from({ length: 50 }, (_, i) => ({ type: "test-timed", payload: { ms: 0 }, flow, metadata: { n: `${i}` } })),
    );
    const done = await waitAll(
      key,
      jobs.map((j) => j.id),
      80_000,
    );

    expect(done.map((j) => [j.status, j.attempts])).toEqual(done.map(() => ["succeeded", 1]));
    const starts = done.map((j) => j.result?.start ?? 0).sort((a, b) => a - b);
    for (let i = 0; i + 5 < starts.length; i++) {
      expect((starts[i + 5] ?? 0) - (starts[i] ?? 0), `starts ${i}…${i + 5} within one second`).toBeGreaterThanOrEqual(
        1000,
      );
    }
    // The gate deferred the excess instead of dropping or failing it.
    const deferred = done.filter((j) => j.attemptLog.some((a) => a.outcome === "deferred"));
    expect(deferred.length).toBeGreaterThanOrEqual(45);
    const view = await flowOf(key, "rate-5");
    expect(view.body).toMatchObject({ key: "rate-5", rate: { limit: 5, periodSeconds: 1 }, concurrency: null });
  }, 120_000);

  it("concurrency 2 never has more than 2 running, and GET /v1/flows/:key shows the live counts", async () => {
    const { key } = await newTenant("flow");
    const flow = { key: "conc-2", concurrency: 2 };
    const jobs = await enqueueBatch(
      key,
      Array.from({ length: 8 }, () => ({ type: "test-timed", payload: { ms: 700 }, flow })),
    );
    const seen: FlowView[] = [];
    const watching = (async () => {
      for (let i = 0; i < 40; i++) {
        const view = await flowOf(key, "conc-2");
        if (view.status === 200) seen.push(view.body);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    const done = await waitAll(
      key,
      jobs.map((j) => j.id),
      60_000,
    );
    await watching;

    expect(done.every((j) => j.status === "succeeded" && j.attempts === 1)).toBe(true);
    const intervals = done.map((j) => j.result ?? { start: 0, end: 0 });
    expect(maxOverlap(intervals)).toBe(2);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen.map((v) => v.running))).toBeLessThanOrEqual(2);
    expect(Math.max(...seen.map((v) => v.waiting))).toBeGreaterThan(0);
    expect(seen[0]).toMatchObject({ key: "conc-2", rate: null, concurrency: 2 });
    // Every slot was given back once the outcomes were written.
    expect((await flowOf(key, "conc-2")).body).toMatchObject({ running: 0, waiting: 0 });
  }, 90_000);

  it("derives the flow from the input through defineJob, and the latest job's settings win", async () => {
    const { key } = await newTenant("flow");
    const jobs = await enqueueBatch(
      key,
      Array.from({ length: 3 }, () => ({ type: "test-timed", payload: { ms: 400, host: "a.test" } })),
    );
    expect(jobs[0]?.flow).toEqual({ key: "host:a.test", concurrency: 1 });
    const done = await waitAll(
      key,
      jobs.map((j) => j.id),
      60_000,
    );
    expect(maxOverlap(done.map((j) => j.result ?? { start: 0, end: 0 }))).toBe(1);
    expect((await flowOf(key, "host:a.test")).body).toMatchObject({ rate: null, concurrency: 1 });

    const later = await enqueue(key, {
      type: "test-timed",
      payload: { ms: 0, host: "a.test" },
      flow: { key: "host:a.test", rate: { limit: 10, periodSeconds: 60 } },
    });
    await waitForStatus(key, later.id, ["succeeded"]);
    expect((await flowOf(key, "host:a.test")).body).toMatchObject({
      rate: { limit: 10, periodSeconds: 60 },
      concurrency: null,
    });
    // A key no job has named is not found, and another tenant's key does not exist for this one.
    expect((await flowOf(key, "never-used")).status).toBe(404);
    const other = await newTenant("flow");
    expect((await flowOf(other.key, "host:a.test")).status).toBe(404);
  }, 90_000);

  it("gives a slot held by a job whose consumer died back after that job's lease", async () => {
    const { tenant, key } = await newTenant("flow");
    const gate = flowGate(env.KEY_GATE, tenant, "dies");
    // A consumer was admitted for a job with a 2 s lease (its timeout) and died without releasing.
    const before = Date.now();
    const held = await gate.admit({
      key: "dies",
      limits: { rate: null, concurrency: 1 },
      settingsFrom: "job_0",
      jobs: [{ id: "job_whose_consumer_died", leaseMs: 2000 }],
    });
    expect(held.admitted).toEqual([{ id: "job_whose_consumer_died", waitMs: 0 }]);

    const job = await enqueue(key, { type: "test-timed", payload: { ms: 0 }, flow: { key: "dies", concurrency: 1 } });
    const done = (await waitForStatus(key, job.id, ["succeeded", "dead"], 20_000)) as Timed;
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(1);
    expect(done.attemptLog.some((a) => a.outcome === "deferred")).toBe(true);
    expect(done.result?.start ?? 0).toBeGreaterThanOrEqual(before + 2000);
    expect((await flowOf(key, "dies")).body).toMatchObject({ running: 0 });
  }, 60_000);

  it("asks each flow key's gate once per consumer batch, and releases once per key holding slots", async () => {
    const { tenant, key } = await newTenant("flow");
    const rate = { key: "batch-rate", rate: { limit: 2, periodSeconds: 60 } };
    const slots = { key: "batch-slots", concurrency: 5 };
    // Delayed an hour, so the real consumer leaves these messages to the batch below.
    const jobs = await enqueueBatch(key, [
      ...Array.from({ length: 3 }, () => ({ type: "test-timed", payload: { ms: 0 }, flow: rate, delaySeconds: 3600 })),
      ...Array.from({ length: 3 }, () => ({ type: "test-timed", payload: { ms: 0 }, flow: slots, delaySeconds: 3600 })),
      { type: "test-timed", payload: { ms: 0 }, delaySeconds: 3600 },
    ]);

    // As jobs enqueued to run now (the hour's delay above flagged them for the outbox index).
    await env.DB.prepare("UPDATE jobs SET outbox = 0 WHERE tenant_id = ?").bind(tenant).run();
    const calls: Record<string, number> = {};
    const counted = countingNamespace(env.KEY_GATE, calls);
    const batch = createMessageBatch<unknown>(
      "jobs",
      jobs.map((job, i) => ({ id: `m-${i}`, timestamp: Date.now(), attempts: 1, body: { tenant, id: job.id } })),
    );
    await consumeJobs(batch, { ...env, KEY_GATE: counted }, createRegistry([...defaultJobs, ...testJobs]));
    const result = await getQueueResult(batch, createExecutionContext());

    expect(calls).toEqual({ admit: 2, release: 1 });
    expect(result.explicitAcks.sort()).toEqual(jobs.map((_, i) => `m-${i}`).sort());
    const after = await Promise.all(
      jobs.map(async (job) => (await call<JobDetail>("GET", `/v1/jobs/${job.id}`, { token: key })).body),
    );
    // Two of the rate-limited jobs ran (ids made in one millisecond order them at random); the third waits.
    expect(
      after
        .slice(0, 3)
        .map((j) => j.status)
        .sort(),
    ).toEqual(["queued", "succeeded", "succeeded"]);
    expect(after.slice(3).map((j) => j.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    // The deferred job spent no attempt; its row says why it waits and when it comes back.
    const deferred = after.find((j) => j.status === "queued") as JobDetail;
    expect(deferred.attempts).toBe(0);
    expect(deferred.attemptLog.map((a) => a.outcome)).toEqual(["deferred"]);
    expect(Date.parse(deferred.runAt)).toBeGreaterThan(Date.now() + 50_000);
    // A minute's wait stays within the fresh-id rescue window: no outbox flag, no index row.
    const flag = await env.DB.prepare("SELECT outbox FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, deferred.id)
      .first<{ outbox: number }>();
    expect(flag?.outbox).toBe(0);
  });
});

/** The real KeyGate namespace, counting each RPC made through its stubs by method name. */
function countingNamespace(namespace: typeof env.KEY_GATE, calls: Record<string, number>): typeof env.KEY_GATE {
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop === "get") {
        return (id: DurableObjectId) => {
          const stub = target.get(id);
          return new Proxy(stub, {
            get(stubTarget, method) {
              if (typeof method !== "string" || !["admit", "release", "claim", "describe"].includes(method)) {
                return Reflect.get(stubTarget, method);
              }
              return (...args: never[]) => {
                calls[method] = (calls[method] ?? 0) + 1;
                return (stubTarget[method as "admit"] as (...a: never[]) => unknown)(...args);
              };
            },
          });
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
