import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { log } from "../../src/core/logger";
import { MAX_STEP_RESULT_BYTES } from "../../src/core/steps";
import { openDb } from "../../src/db/client";
import { consumeJobs } from "../../src/engine/consumer";
import { consumeDeadLetters } from "../../src/engine/dlq-consumer";
import { cancelJobCascade } from "../../src/service/cancel-job";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, type Sent } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import { workflowEffects, workflowFaults, workflowRuns, workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Enqueued an hour out, so the real queue never delivers it during the test: the test delivers every message itself. */
const later = (key: string, body: Record<string, unknown>) => enqueue(key, { delaySeconds: 3600, ...body });
const effects = (jobId: string, step: string) => workflowEffects.get(`${jobId}/${step}`) ?? 0;
const runs = (jobId: string) => workflowRuns.get(jobId) ?? 0;

let seq = 0;
/** One consumer invocation on these messages (delivery count `attempts`), with the queue captured. */
async function deliver(bodies: JobMessage[], options: { attempts?: number; d1?: D1Database } = {}) {
  const { queue, sent } = capturingQueue();
  const ids = bodies.map(() => `m${seq++}`);
  const { batch, answers } = answeringBatch(
    "jobs",
    bodies.map((body, i) => ({ id: ids[i] ?? "", body, attempts: options.attempts ?? 1 })),
  );
  const started = Date.now();
  await consumeJobs(batch, { ...env, JOBS_QUEUE: queue, ...(options.d1 ? { DB: options.d1 } : {}) }, registry);
  return { sent, answers: ids.map((id) => answers.get(id)), elapsedMs: Date.now() - started };
}

type Row = {
  status: string;
  attempts: number;
  waiting_for: string | null;
  run_at: number;
  lease_until: number | null;
  result: string | null;
  parent_id: string | null;
};
const jobRow = (tenant: string, id: string) =>
  env.DB.prepare("SELECT * FROM jobs WHERE tenant_id = ? AND id = ?").bind(tenant, id).first<Row>();
const steps = async (tenant: string, id: string) =>
  (
    await env.DB.prepare(
      "SELECT name, kind, status, result, child_id FROM job_steps WHERE tenant_id = ? AND job_id = ?",
    )
      .bind(tenant, id)
      .all<{ name: string; kind: string; status: string; result: string | null; child_id: string | null }>()
  ).results;
const messagesFor = (sent: Sent[], id: string) => sent.filter((m) => m.body.id === id);

/** The real D1 until `kill()`: then every query fails, as for an isolate that died mid-handler. */
function killableD1() {
  const state = { dead: false };
  const fail = () => Promise.reject(new Error("isolate gone (injected)"));
  const wrapStatement = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args));
        if (prop === "run" || prop === "all" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) =>
            state.dead
              ? fail()
              : (Reflect.get(target, prop, target) as (...a: unknown[]) => unknown).apply(target, args);
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const originals = new WeakMap<object, D1PreparedStatement>();
  const d1 = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => {
          const inner = target.prepare(sql);
          const wrapped = wrapStatement(inner);
          originals.set(wrapped, inner);
          return wrapped;
        };
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => (state.dead ? fail() : target.batch(statements));
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1, kill: () => (state.dead = true) };
}

describe("durable steps", () => {
  it("resumes a 3-step job that crashed after step 2 committed: step 3 runs, each effect exactly once", async () => {
    const { key, tenant } = await newTenant("wf-crash");
    const job = await later(key, { type: "wf-three-steps", payload: {} });
    const dying = killableD1();
    workflowFaults.crashAfterStep2.add(job.id);
    workflowFaults.onCrash = dying.kill;

    // The first delivery: steps one and two commit, then the isolate dies (nothing more reaches D1).
    const first = await deliver([{ tenant, id: job.id }], { d1: dying.d1 });
    expect(first.answers[0]?.kind).toBe("retry");
    expect([effects(job.id, "one"), effects(job.id, "two"), effects(job.id, "three")]).toEqual([1, 1, 0]);
    expect((await steps(tenant, job.id)).map((s) => [s.name, s.status])).toEqual([
      ["one", "succeeded"],
      ["two", "succeeded"],
    ]);

    // The queue's redelivery: the re-run skips the finished steps and runs step three only.
    const second = await deliver([{ tenant, id: job.id }], { attempts: 2 });
    expect(second.answers[0]?.kind).toBe("ack");
    expect(runs(job.id)).toBe(2);
    expect([effects(job.id, "one"), effects(job.id, "two"), effects(job.id, "three")]).toEqual([1, 1, 1]);
    const row = await jobRow(tenant, job.id);
    expect(row?.status).toBe("succeeded");
    expect(JSON.parse(row?.result ?? "null")).toEqual({ a: 1, b: 2, c: 3 });
  });

  it("parks a short sleep as waiting (no attempt, no consumer held) and resumes it not before its time", async () => {
    const { key, tenant } = await newTenant("wf-sleep");
    const job = await later(key, { type: "wf-sleep", payload: { seconds: 2 } });
    const parkedAt = Date.now();
    const first = await deliver([{ tenant, id: job.id }]);
    // The consumer is done at once: the sleep is a row, not a held invocation.
    expect(first.elapsedMs).toBeLessThan(1_000);
    expect(first.answers[0]?.kind).toBe("ack");
    const parked = await jobRow(tenant, job.id);
    expect(parked?.status).toBe("waiting");
    expect(parked?.attempts).toBe(0);
    expect(parked?.lease_until).toBeNull();
    const waitingFor = JSON.parse(parked?.waiting_for ?? "null") as { kind: string; until: string };
    expect(waitingFor.kind).toBe("sleep");
    const until = Date.parse(waitingFor.until);
    expect(until).toBeGreaterThanOrEqual(parkedAt + 2_000);
    expect(parked?.run_at).toBe(until);
    // Its wake is a delayed message of the queue.
    expect(first.sent.map((m) => [m.body.id, m.delaySeconds])).toEqual([[job.id, 2]]);

    // A message that comes early does not run it: it is sent again for the time left.
    const early = await deliver([{ tenant, id: job.id }]);
    expect(runs(job.id)).toBe(1);
    expect(early.sent).toHaveLength(1);
    expect(early.sent[0]?.delaySeconds).toBeGreaterThanOrEqual(1);
    expect((await jobRow(tenant, job.id))?.status).toBe("waiting");

    await sleep(Math.max(0, until - Date.now()) + 20);
    const woken = await deliver([{ tenant, id: job.id }]);
    expect(woken.answers[0]?.kind).toBe("ack");
    const done = await jobRow(tenant, job.id);
    expect(done?.status).toBe("succeeded");
    expect(done?.attempts).toBe(1);
    expect(done?.waiting_for).toBeNull();
    expect((JSON.parse(done?.result ?? "{}") as { wokeAt: number }).wokeAt).toBeGreaterThanOrEqual(until);
    expect([effects(job.id, "before"), effects(job.id, "after")]).toEqual([1, 1]);
    expect((await steps(tenant, job.id)).find((s) => s.name === "nap")?.status).toBe("succeeded");
  });

  it("times out an event wait: the step returns null and the job goes on", async () => {
    const { key, tenant } = await newTenant("wf-timeout");
    const job = await later(key, { type: "wf-event", payload: { event: "never.sent", timeoutSeconds: 1 } });
    await deliver([{ tenant, id: job.id }]);
    const parked = await jobRow(tenant, job.id);
    expect(parked?.status).toBe("waiting");
    expect(JSON.parse(parked?.waiting_for ?? "null")).toMatchObject({ kind: "event", event: "never.sent" });
    await sleep(Math.max(0, (parked?.run_at ?? 0) - Date.now()) + 20);
    await deliver([{ tenant, id: job.id }]);
    const done = await jobRow(tenant, job.id);
    expect(done?.status).toBe("succeeded");
    expect(JSON.parse(done?.result ?? "{}")).toEqual({ data: null });
    expect((await steps(tenant, job.id)).find((s) => s.name === "wait")?.status).toBe("timed_out");
    expect(effects(job.id, "after")).toBe(1);
  });

  it("gives a waiter the event stored within 60 s before it started waiting (and not one of another key)", async () => {
    const { key, tenant } = await newTenant("wf-lookback");
    const now = Date.now();
    const insert = env.DB.prepare(
      "INSERT INTO events (tenant_id, id, name, key, data, received_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    await env.DB.batch([
      insert.bind(tenant, "evt_other", "payment.captured", "o-2", '{"amount":9}', now - 2_000),
      insert.bind(tenant, "evt_old", "payment.captured", "o-1", '{"amount":1}', now - 61_000),
      insert.bind(tenant, "evt_mine", "payment.captured", "o-1", '{"amount":5}', now - 1_000),
    ]);
    const job = await later(key, {
      type: "wf-event",
      payload: { event: "payment.captured", key: "o-1", timeoutSeconds: 3600 },
    });
    const first = await deliver([{ tenant, id: job.id }]);
    // The park found the event in its own batch: the job is woken at once (no hour-long wait).
    expect((await jobRow(tenant, job.id))?.status).toBe("queued");
    expect(messagesFor(first.sent, job.id).map((m) => m.delaySeconds)).toEqual([0]);
    await deliver([{ tenant, id: job.id }]);
    const done = await jobRow(tenant, job.id);
    expect(done?.status).toBe("succeeded");
    expect(JSON.parse(done?.result ?? "{}")).toEqual({ data: { amount: 5 } });
  });

  it("wakes a parked waiter through POST /v1/events and the real queue", async () => {
    const { key, tenant } = await newTenant("wf-event-api");
    const job = await later(key, {
      type: "wf-event",
      payload: { event: "order.shipped", key: "o-7", timeoutSeconds: 3600 },
    });
    await deliver([{ tenant, id: job.id }]);
    expect((await jobRow(tenant, job.id))?.status).toBe("waiting");
    const sent = await call<{ id: string; matched: number }>("POST", "/v1/events", {
      token: key,
      body: { name: "order.shipped", key: "o-7", data: { carrier: "dhl" } },
    });
    expect(sent.status).toBe(202);
    expect(sent.body.matched).toBe(1);
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.result).toEqual({ data: { carrier: "dhl" } });
  });
});

describe("child jobs", () => {
  it("starts 20 children with Promise.all, wakes the parent once when the last finishes, and gives it 20 results", async () => {
    const { key, tenant } = await newTenant("wf-fanout");
    const job = await later(key, { type: "wf-parent", payload: { children: 20 } });
    const parked = await deliver([{ tenant, id: job.id }]);
    const row = await jobRow(tenant, job.id);
    expect(row?.status).toBe("waiting");
    const waitingFor = JSON.parse(row?.waiting_for ?? "null") as { kind: string; jobIds: string[] };
    expect(waitingFor.kind).toBe("invoke");
    expect(waitingFor.jobIds).toHaveLength(20);
    // The children are enqueued together with the park; the parent gets no message of its own.
    expect(parked.sent).toHaveLength(20);
    expect(messagesFor(parked.sent, job.id)).toHaveLength(0);
    const childIds = parked.sent.map((m) => m.body.id);
    expect(new Set(childIds)).toEqual(new Set(waitingFor.jobIds));
    const childRow = await jobRow(tenant, childIds[0] ?? "");
    expect(childRow?.parent_id).toBe(job.id);

    // The children finish in two consumer batches: only the last one wakes the parent.
    const firstHalf = await deliver(parked.sent.slice(0, 10).map((m) => m.body));
    expect(messagesFor(firstHalf.sent, job.id)).toHaveLength(0);
    expect((await jobRow(tenant, job.id))?.status).toBe("waiting");
    const secondHalf = await deliver(parked.sent.slice(10).map((m) => m.body));
    expect(messagesFor(secondHalf.sent, job.id)).toHaveLength(1);
    expect((await jobRow(tenant, job.id))?.status).toBe("queued");

    await deliver(messagesFor(secondHalf.sent, job.id).map((m) => m.body));
    const done = await jobRow(tenant, job.id);
    expect(done?.status).toBe("succeeded");
    expect(runs(job.id)).toBe(2);
    expect(JSON.parse(done?.result ?? "{}")).toEqual({
      results: Array.from({ length: 20 }, (_, i) => i * 2),
      failed: [],
    });
    for (const id of childIds) expect(effects(id, "child")).toBe(1);
  });

  it("makes invoke throw ChildJobFailedError for a dead child, and the parent decides", async () => {
    const { key, tenant } = await newTenant("wf-dead-child");
    const job = await later(key, { type: "wf-parent", payload: { children: 3, failIndex: 1 } });
    const parked = await deliver([{ tenant, id: job.id }]);
    const children = await deliver(parked.sent.map((m) => m.body));
    const deadChild = (await steps(tenant, job.id)).find((s) => s.name === "child-1");
    expect(deadChild?.status).toBe("failed");
    await deliver(messagesFor(children.sent, job.id).map((m) => m.body));
    const done = await jobRow(tenant, job.id);
    expect(done?.status).toBe("succeeded");
    expect(JSON.parse(done?.result ?? "{}")).toEqual({
      results: [0, 4],
      failed: [{ childId: deadChild?.child_id, childStatus: "dead", message: "child 1 fails on purpose" }],
    });
  });

  it("wakes the parent when its child dies without an attempt (attempts used up) or in the dead-letter queue", async () => {
    const { key, tenant } = await newTenant("wf-dead-letter");
    const job = await later(key, { type: "wf-parent", payload: { children: 2 } });
    const parked = await deliver([{ tenant, id: job.id }]);
    const [first, second] = parked.sent.map((m) => m.body);
    if (!first || !second) throw new Error("two children expected");
    // Both children have used up their attempts (their runs crashed): one is found so by the consumer, one by the DLQ.
    await env.DB.prepare("UPDATE jobs SET attempts = max_attempts WHERE tenant_id = ? AND parent_id = ?")
      .bind(tenant, job.id)
      .run();
    const early = await deliver([first]);
    expect(messagesFor(early.sent, job.id)).toHaveLength(0);
    const { queue, sent } = capturingQueue();
    const { batch } = answeringBatch("jobs-dlq", [{ id: `dlq${seq++}`, body: second, attempts: 100 }]);
    await consumeDeadLetters(batch, { ...env, JOBS_QUEUE: queue });
    expect(messagesFor(sent, job.id)).toHaveLength(1);
    await deliver([{ tenant, id: job.id }]);
    const done = await jobRow(tenant, job.id);
    expect(done?.status).toBe("succeeded");
    const result = JSON.parse(done?.result ?? "{}") as { results: number[]; failed: { childStatus: string }[] };
    expect(result.results).toEqual([]);
    expect(result.failed.map((f) => f.childStatus)).toEqual(["dead", "dead"]);
    expect(runs(job.id)).toBe(2);
  });

  it("cancels a waiting parent together with its unstarted children", async () => {
    const { key, tenant } = await newTenant("wf-cancel");
    const job = await later(key, { type: "wf-parent", payload: { children: 3 } });
    const parked = await deliver([{ tenant, id: job.id }]);
    const { queue } = capturingQueue();
    const cancelled = await cancelJobCascade(
      { db: openDb(env.DB), queue: queue as Queue<JobMessage>, log },
      tenant,
      job.id,
      Date.now(),
    );
    expect(cancelled?.status).toBe("cancelled");
    for (const { body } of parked.sent) expect((await jobRow(tenant, body.id))?.status).toBe("cancelled");
    // Their messages find them cancelled: no child runs.
    await deliver(parked.sent.map((m) => m.body));
    for (const { body } of parked.sent) expect(effects(body.id, "child")).toBe(0);
    expect((await jobRow(tenant, job.id))?.status).toBe("cancelled");
  });

  it("cancels a waiting parent and its children through POST /v1/jobs/:id/cancel", async () => {
    const { key, tenant } = await newTenant("wf-cancel-http");
    const job = await later(key, { type: "wf-parent", payload: { children: 2 } });
    const parked = await deliver([{ tenant, id: job.id }]);
    const res = await call<{ status: string }>("POST", `/v1/jobs/${job.id}/cancel`, { token: key });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("cancelled");
    for (const { body } of parked.sent) expect((await jobRow(tenant, body.id))?.status).toBe("cancelled");
    // Its open invoke waits are closed: nothing can complete them later.
    expect((await steps(tenant, job.id)).map((s) => s.status)).toEqual(["failed", "failed"]);
  });

  it("refuses an invoke with debounce (a child is its own row): the parent dies with StepRuleError, no child", async () => {
    const { key, tenant } = await newTenant("wf-debounced-invoke");
    const job = await later(key, { type: "wf-rules", payload: { rule: "debounced-invoke" } });
    const first = await deliver([{ tenant, id: job.id }]);
    expect(first.sent).toHaveLength(0);
    const row = await env.DB.prepare("SELECT status, error FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .first<{ status: string; error: string }>();
    expect(row?.status).toBe("dead");
    expect(JSON.parse(row?.error ?? "{}")).toMatchObject({ name: "StepRuleError" });
    expect(JSON.parse(row?.error ?? "{}").message).toContain("debounce");
  });

  it("refuses an invoke of an unknown type: the parent dies with StepRuleError and starts nothing", async () => {
    const { key, tenant } = await newTenant("wf-bad-invoke");
    const job = await later(key, { type: "wf-rules", payload: { rule: "bad-invoke" } });
    const first = await deliver([{ tenant, id: job.id }]);
    expect(first.sent).toHaveLength(0);
    const row = await jobRow(tenant, job.id);
    expect(row?.status).toBe("dead");
    expect((await steps(tenant, job.id)).length).toBe(0);
  });
});

describe("step rules", () => {
  it("kills a job that uses a step name twice, even when the handler catches the error", async () => {
    const { key, tenant } = await newTenant("wf-dup");
    const job = await later(key, { type: "wf-rules", payload: { rule: "duplicate" } });
    await deliver([{ tenant, id: job.id }]);
    const row = await env.DB.prepare("SELECT status, attempts, error FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .first<{ status: string; attempts: number; error: string }>();
    expect(row?.status).toBe("dead");
    expect(row?.attempts).toBe(1);
    expect(JSON.parse(row?.error ?? "{}")).toMatchObject({ name: "StepRuleError" });
    expect(effects(job.id, "same")).toBe(1);
  });

  it(`refuses a step result over ${MAX_STEP_RESULT_BYTES} bytes at write time: nothing stored, the job dies`, async () => {
    const { key, tenant } = await newTenant("wf-big");
    const job = await later(key, { type: "wf-rules", payload: { rule: "too-large" } });
    await deliver([{ tenant, id: job.id }]);
    const row = await env.DB.prepare("SELECT status, error FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .first<{ status: string; error: string }>();
    expect(row?.status).toBe("dead");
    expect(JSON.parse(row?.error ?? "{}")).toMatchObject({ name: "StepRuleError" });
    expect(JSON.parse(row?.error ?? "{}").message).toContain(`${MAX_STEP_RESULT_BYTES} bytes`);
    expect(await steps(tenant, job.id)).toEqual([]);
  });
});
