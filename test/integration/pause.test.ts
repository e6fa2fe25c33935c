import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job, JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { newId } from "../../src/core/ids";
import { log } from "../../src/core/logger";
import { loadJobRows } from "../../src/db/consumer-statements";
import { holdStatement, pauseStatement, releasePageStatement, unpauseStatement } from "../../src/db/paused-types";
import { consumeJobs } from "../../src/engine/consumer";
import { gateJobs } from "../../src/engine/gate";
import { meterD1 } from "../../src/metering/d1";
import { releaseResumedTypes, resumeJobType } from "../../src/service/job-types";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, type Sent } from "../fixtures/engine-doubles";
import { seedJobs } from "../fixtures/seed";
import { countedRuns, testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

// The test drives the consumer itself (with its own registry, so test-count's runs are counted here) and keeps every
// message the Worker sends, so the real queue never runs these jobs behind the test's back.
const registry = createRegistry([...defaultJobs, ...testJobs]);
const runsOf = (ids: readonly string[]) => countedRuns.filter((run) => ids.includes(run.jobId));

/** A request to the Worker whose queue sends are captured in `sent`. */
async function fetchCapturing(key: string, method: string, path: string, sent: Sent[], body?: unknown) {
  const { queue, sent: captured } = capturingQueue();
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await worker.fetch(
    new Request(`http://x${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    { ...env, JOBS_QUEUE: queue },
    createExecutionContext(),
  );
  sent.push(...captured);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function enqueueCounted(key: string, n: number, sent: Sent[]): Promise<Job[]> {
  const jobs = Array.from({ length: n }, () => ({ type: "test-count", payload: { ms: 0 } }));
  const res = await fetchCapturing(key, "POST", "/v1/jobs/batch", sent, { jobs });
  expect(res.status).toBe(202);
  return res.body.jobs as Job[];
}

/** Delivers messages to the consumer, as one queue batch per 100; answers how each message was answered. */
async function deliver(messages: readonly Sent[], capture: Sent[] = []) {
  const kinds = new Map<string, string>();
  const { queue, sent } = capturingQueue();
  for (let i = 0; i < messages.length; i += 100) {
    const chunk = messages.slice(i, i + 100);
    const { batch, answers } = answeringBatch(
      "jobs",
      chunk.map((m, j) => ({ id: `m${i + j}-${m.body.id}`, body: m.body })),
    );
    await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
    for (const [id, answer] of answers) kinds.set(id, answer.kind);
  }
  capture.push(...sent);
  return { kinds: [...kinds.values()], resent: sent };
}

type Held = { id: string; status: string; attempts: number; paused: number; outbox: number };
async function rowsOf(tenant: string, ids: readonly string[]): Promise<Held[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, status, attempts, paused, outbox FROM jobs WHERE tenant_id = ?1
       AND id IN (SELECT value FROM json_each(?2)) ORDER BY id`,
  )
    .bind(tenant, JSON.stringify(ids))
    .all<Held>();
  return results;
}

const heldCount = async (tenant: string) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?1 AND paused = 1")
      .bind(tenant)
      .first<{ n: number }>()
  )?.n ?? 0;

describe("pause and resume a job type", () => {
  it("holds 50 enqueued jobs (queued, no attempt, nothing run, dead or dropped, messages acked) and runs each once on resume", async () => {
    const { key, tenant } = await newTenant("pause");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    const sent: Sent[] = [];
    const jobs = await enqueueCounted(key, 50, sent);
    const ids = jobs.map((j) => j.id);
    // Enqueues are still accepted, and each got its message.
    expect(jobs.every((j) => j.status === "queued")).toBe(true);
    expect(sent).toHaveLength(50);

    const held = await deliver(sent);
    expect(held.kinds).toEqual(ids.map(() => "ack"));
    // Parked in D1, not bounced through the queue: no message was sent back.
    expect(held.resent).toEqual([]);
    expect(runsOf(ids)).toEqual([]);
    const rows = await rowsOf(tenant, ids);
    expect(rows.map((r) => [r.status, r.attempts, r.paused])).toEqual(rows.map(() => ["queued", 0, 1]));
    // The job says why it waits: one deferral entry, not an attempt.
    const detail = await waitForStatus(key, ids[0] ?? "", ["queued"]);
    expect(detail.attemptLog).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: "deferred",
        error: expect.objectContaining({ name: "TypePaused" }),
      }),
    ]);
    const listed = await call<{ data: Job[] }>("GET", "/v1/jobs?status=dead", { token: key });
    expect(listed.body.data).toEqual([]);

    // A redelivery of a held job (say, a copy the queue sent twice) is held again: still nothing runs.
    const again = await deliver(sent.slice(0, 3));
    expect(again.kinds).toEqual(["ack", "ack", "ack"]);
    expect(runsOf(ids)).toEqual([]);
    expect((await waitForStatus(key, ids[0] ?? "", ["queued"])).attemptLog).toHaveLength(1);

    const released: Sent[] = [];
    const resumed = await fetchCapturing(key, "POST", "/v1/job-types/test-count/resume", released);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ type: "test-count", paused: false });
    expect(released.map((m) => m.body.id).sort()).toEqual([...ids].sort());
    expect(released.every((m) => (m.delaySeconds ?? 0) === 0)).toBe(true);
    expect(await heldCount(tenant)).toBe(0);

    await deliver(released);
    const runs = runsOf(ids);
    expect(runs.map((r) => r.jobId).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(runs.filter((r) => r.jobId === id)).toHaveLength(1);
    const done = await rowsOf(tenant, ids);
    expect(done.map((r) => [r.status, r.attempts, r.paused])).toEqual(done.map(() => ["succeeded", 1, 0]));
  }, 60_000);

  it("holds only the pausing tenant's jobs, in a batch shared with another tenant's", async () => {
    const a = await newTenant("pause-a");
    const b = await newTenant("pause-b");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: a.key })).status).toBe(200);
    const sent: Sent[] = [];
    const jobsA = await enqueueCounted(a.key, 5, sent);
    const jobsB = await enqueueCounted(b.key, 5, sent);
    // One consumer batch, the two tenants' messages interleaved.
    const mixed = sent.flatMap((_, i) => (i < 5 ? [sent[i], sent[i + 5]] : [])).filter((m): m is Sent => !!m);
    await deliver(mixed);
    expect(runsOf(jobsA.map((j) => j.id))).toEqual([]);
    expect(runsOf(jobsB.map((j) => j.id))).toHaveLength(5);
    expect(
      (
        await rowsOf(
          b.tenant,
          jobsB.map((j) => j.id),
        )
      ).map((r) => r.status),
    ).toEqual(Array(5).fill("succeeded"));
    expect(await heldCount(a.tenant)).toBe(5);
    expect(await heldCount(b.tenant)).toBe(0);
  }, 60_000);

  it("is held by whatever consumer reads D1: a pause written by another isolate (no memory of it here) holds", async () => {
    const { key, tenant } = await newTenant("durable");
    // As a pause made through another isolate, or before a deploy, leaves it: only the D1 row.
    await env.DB.prepare("INSERT INTO paused_types (tenant_id, type, paused_at) VALUES (?1, 'test-count', ?2)")
      .bind(tenant, Date.now())
      .run();
    const sent: Sent[] = [];
    const jobs = await enqueueCounted(key, 3, sent);
    // A fresh registry and consumer call: nothing in memory knows of the pause.
    const fresh = createRegistry([...defaultJobs, ...testJobs]);
    const { batch, answers } = answeringBatch(
      "jobs",
      sent.map((m, i) => ({ id: `d${i}`, body: m.body })),
    );
    await consumeJobs(batch, env, fresh);
    expect([...answers.values()].map((a) => a.kind)).toEqual(["ack", "ack", "ack"]);
    expect(runsOf(jobs.map((j) => j.id))).toEqual([]);
    expect(await heldCount(tenant)).toBe(3);
    const list = await call<{ data: { type: string; paused: boolean }[] }>("GET", "/v1/job-types", { token: key });
    expect(list.body.data.find((t) => t.type === "test-count")?.paused).toBe(true);
  }, 60_000);

  it("holds a retrying job whose retry message comes in while paused, as queued, without spending its attempt", async () => {
    const { key, tenant } = await newTenant("retrying");
    const sent: Sent[] = [];
    const [job] = await enqueueCounted(key, 1, sent);
    if (!job) throw new Error("no job");
    // As a failed first attempt leaves it: retrying, one attempt spent, its retry message due now.
    await env.DB.prepare("UPDATE jobs SET status = 'retrying', attempts = 1 WHERE tenant_id = ?1 AND id = ?2")
      .bind(tenant, job.id)
      .run();
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    await deliver(sent);
    expect(runsOf([job.id])).toEqual([]);
    expect(await rowsOf(tenant, [job.id])).toEqual([
      { id: job.id, status: "queued", attempts: 1, paused: 1, outbox: 0 },
    ]);
    const released: Sent[] = [];
    expect((await fetchCapturing(key, "POST", "/v1/job-types/test-count/resume", released)).status).toBe(200);
    await deliver(released);
    expect(runsOf([job.id])).toHaveLength(1);
    expect((await waitForStatus(key, job.id, ["succeeded"])).attempts).toBe(2);
  }, 60_000);

  it("a job cancelled while held stays cancelled on resume, and is not sent", async () => {
    const { key, tenant } = await newTenant("cancel");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    const sent: Sent[] = [];
    const [kept, cancelled] = await enqueueCounted(key, 2, sent);
    if (!kept || !cancelled) throw new Error("no jobs");
    await deliver(sent);
    expect((await call("POST", `/v1/jobs/${cancelled.id}/cancel`, { token: key })).status).toBe(200);
    const released: Sent[] = [];
    expect((await fetchCapturing(key, "POST", "/v1/job-types/test-count/resume", released)).status).toBe(200);
    expect(released.map((m) => m.body.id)).toEqual([kept.id]);
    expect(await heldCount(tenant)).toBe(0);
    await deliver(released);
    expect(runsOf([kept.id, cancelled.id]).map((r) => r.jobId)).toEqual([kept.id]);
    expect((await rowsOf(tenant, [cancelled.id]))[0]?.status).toBe("cancelled");
  }, 60_000);
});

describe("a resume larger than one call, and the races around it", () => {
  it("releases 50 held jobs in pages: the resume's own pages, then the tick's, each job sent and run exactly once", async () => {
    const { key, tenant } = await newTenant("pages");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    const sent: Sent[] = [];
    const jobs = await enqueueCounted(key, 50, sent);
    const ids = jobs.map((j) => j.id);
    await deliver(sent);
    expect(await heldCount(tenant)).toBe(50);

    const { queue, sent: released } = capturingQueue();
    const now = Date.now();
    const deps = { d1: env.DB, queue: queue as Queue<JobMessage>, log, now };
    const pages = { pageSize: 10, pages: 2 };
    const resumed = await resumeJobType({ ...deps, registry, tenant }, "test-count", pages);
    expect(resumed).toMatchObject({ paused: false, released: 20 });
    expect(released).toHaveLength(20);
    expect(await heldCount(tenant)).toBe(30);

    // The tick carries on, a bounded number of pages per tick, until nothing is held.
    const ticks: number[] = [];
    for (let i = 0; i < 5; i++) ticks.push((await releaseResumedTypes(deps, pages)).released);
    expect(ticks).toEqual([20, 10, 0, 0, 0]);
    expect(await heldCount(tenant)).toBe(0);
    expect(released.map((m) => m.body.id).sort()).toEqual([...ids].sort());

    await deliver(released);
    const runs = runsOf(ids);
    expect(runs).toHaveLength(50);
    expect(new Set(runs.map((r) => r.jobId)).size).toBe(50);
  }, 90_000);

  it("a resume of 1,200 held jobs over HTTP releases 1,000 within the call's limits, and the tick the other 200", async () => {
    const { key, tenant } = await newTenant("big");
    const seeded = await seedJobs(
      Array.from({ length: 1_200 }, () => ({
        tenantId: tenant,
        type: "test-count",
        status: "queued",
        payload: '{"ms":0}',
      })),
    );
    await env.DB.batch([
      env.DB.prepare("UPDATE jobs SET paused = 1 WHERE tenant_id = ?1").bind(tenant),
      pauseStatement(env.DB, tenant, "test-count", Date.now()),
    ]);
    expect(await heldCount(tenant)).toBe(1_200);
    const released: Sent[] = [];
    // The Worker's own invocation, under the limits harness (queries and subrequests per invocation).
    expect((await fetchCapturing(key, "POST", "/v1/job-types/test-count/resume", released)).status).toBe(200);
    expect(released).toHaveLength(1_000);
    expect(await heldCount(tenant)).toBe(200);
    const { queue, sent } = capturingQueue();
    const rest = await releaseResumedTypes({ d1: env.DB, queue: queue as Queue<JobMessage>, log, now: Date.now() });
    expect(rest).toEqual({ released: 200, sendFailures: 0 });
    const all = [...released, ...sent].map((m) => m.body.id);
    expect(new Set(all).size).toBe(1_200);
    expect(all.sort()).toEqual(seeded.map((r) => r.id).sort());
  }, 60_000);

  it("a released job whose id is past the fresh-id rescue window, or that is due later, is watched by the outbox index", async () => {
    const { tenant } = await newTenant("watch");
    const now = Date.now();
    const [old, fresh, later] = await seedJobs([
      {
        tenantId: tenant,
        id: newId("job", now - 2 * 3_600_000),
        type: "test-count",
        status: "queued",
        runAt: now - 7_000_000,
      },
      { tenantId: tenant, type: "test-count", status: "queued", runAt: now - 1_000 },
      // As a debounce leaves a job whose start it pushed while the job was held.
      { tenantId: tenant, type: "test-count", status: "queued", runAt: now + 60_000 },
    ]);
    await env.DB.batch([env.DB.prepare("UPDATE jobs SET paused = 1 WHERE tenant_id = ?1").bind(tenant)]);
    const { queue, sent } = capturingQueue();
    await resumeJobType({ d1: env.DB, queue: queue as Queue<JobMessage>, registry, tenant, log, now }, "test-count");
    const rows = await env.DB.prepare("SELECT id, outbox, run_at AS runAt FROM jobs WHERE tenant_id = ?1")
      .bind(tenant)
      .all<{ id: string; outbox: number; runAt: number }>();
    const byId = new Map(rows.results.map((r) => [r.id, r]));
    expect(byId.get(old?.id ?? "")).toMatchObject({ outbox: 1, runAt: now });
    expect(byId.get(fresh?.id ?? "")).toMatchObject({ outbox: 0, runAt: now });
    expect(byId.get(later?.id ?? "")).toMatchObject({ outbox: 1, runAt: now + 60_000 });
    const delays = new Map(sent.map((m) => [m.body.id, m.delaySeconds ?? 0]));
    expect([delays.get(old?.id ?? ""), delays.get(fresh?.id ?? ""), delays.get(later?.id ?? "")]).toEqual([0, 0, 60]);
  });

  it("a type paused again mid-release keeps the rest held; the next resume releases them", async () => {
    const { key, tenant } = await newTenant("repause");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    const sent: Sent[] = [];
    await enqueueCounted(key, 12, sent);
    await deliver(sent);
    const { queue, sent: released } = capturingQueue();
    const deps = { d1: env.DB, queue: queue as Queue<JobMessage>, log, now: Date.now() };
    await resumeJobType({ ...deps, registry, tenant }, "test-count", { pageSize: 5, pages: 1 });
    expect(await heldCount(tenant)).toBe(7);
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    expect((await releaseResumedTypes(deps, { pageSize: 5, pages: 4 })).released).toBe(0);
    expect(await heldCount(tenant)).toBe(7);
    await resumeJobType({ ...deps, registry, tenant }, "test-count", { pageSize: 5, pages: 4 });
    expect(await heldCount(tenant)).toBe(0);
    expect(released).toHaveLength(12);
  }, 60_000);

  it("a job read while paused but held after the resume is not parked (the hold checks paused_types itself)", async () => {
    const { key, tenant } = await newTenant("race");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    const sent: Sent[] = [];
    const [job] = await enqueueCounted(key, 1, sent);
    if (!job) throw new Error("no job");
    // The consumer has read the row while the type was paused; the resume lands before its hold statement.
    const [row] = await loadJobRows(env.DB, [{ tenant, id: job.id }]);
    if (!row) throw new Error("no row");
    expect((await call("POST", "/v1/job-types/test-count/resume", { token: key })).status).toBe(200);
    const item = {
      delivery: { message: {} as Message<unknown>, job: { tenant, id: job.id } },
      row,
      options: { backoff: { type: "fixed" as const, delaySeconds: 0 }, timeoutSeconds: 10, flow: null },
      leaseMs: 10_000,
    };
    const gated = await gateJobs([item], { d1: env.DB, gates: env.KEY_GATE, log, now: Date.now() });
    expect(gated.paused).toEqual([]);
    expect(gated.admitted.map((a) => a.item)).toEqual([item]);
    expect(await heldCount(tenant)).toBe(0);
  }, 60_000);

  it("through the real queue and consumer: held while paused, run once each after resume", async () => {
    const { key, tenant } = await newTenant("real");
    expect((await call("POST", "/v1/job-types/test-echo/pause", { token: key })).status).toBe(200);
    const jobs = await Promise.all([1, 2, 3].map((n) => enqueue(key, { type: "test-echo", payload: { value: n } })));
    const ids = jobs.map((j) => j.id);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await heldCount(tenant)) < 3) await new Promise((r) => setTimeout(r, 100));
    expect(await heldCount(tenant)).toBe(3);
    expect((await rowsOf(tenant, ids)).map((r) => [r.status, r.attempts])).toEqual(ids.map(() => ["queued", 0]));
    expect((await call("POST", "/v1/job-types/test-echo/resume", { token: key })).status).toBe(200);
    for (const id of ids) expect((await waitForStatus(key, id, ["succeeded"])).attempts).toBe(1);
    expect(await heldCount(tenant)).toBe(0);
  }, 60_000);
});

describe("what a pause costs in D1", () => {
  it("writes no row for a batch with nothing paused, 2 per job held and 1 per job released; one statement per batch", async () => {
    const { key, tenant } = await newTenant("cost");
    const sent: Sent[] = [];
    const jobs = await enqueueCounted(key, 100, sent);
    const rows = await loadJobRows(
      env.DB,
      jobs.map((j) => ({ tenant, id: j.id })),
    );
    const now = Date.now();

    // The consumer's load of these 100 rows, with its probe of paused_types per row: what every batch reads.
    const metered = meterD1(env.DB);
    await loadJobRows(
      metered.d1,
      jobs.map((j) => ({ tenant, id: j.id })),
    );
    const loadRead = metered.usage.rowsRead;

    // Nothing paused: the hold statement (which the consumer skips then) would write nothing.
    const idle = await env.DB.batch([holdStatement(env.DB, rows, now)]);
    expect(idle[0]?.meta.rows_written).toBe(0);
    const idleRead = idle[0]?.meta.rows_read ?? 0;

    const pause = await pauseStatement(env.DB, tenant, "test-count", now).run();
    expect(pause.meta.rows_written).toBe(1);
    expect((await pauseStatement(env.DB, tenant, "test-count", now).run()).meta.rows_written).toBe(0);

    const held = await env.DB.batch([holdStatement(env.DB, rows, now)]);
    expect(held[0]?.results).toHaveLength(100);
    const heldWritten = held[0]?.meta.rows_written ?? 0;
    // The row and its jobs_paused index entry.
    expect(heldWritten / 100).toBe(2);

    const [unpaused, released] = await env.DB.batch([
      unpauseStatement(env.DB, tenant, "test-count"),
      releasePageStatement(env.DB, { tenant, type: "test-count", size: 500, now, watchBelow: "job_0" }),
    ]);
    expect(unpaused?.meta.rows_written).toBe(1);
    expect(released?.results).toHaveLength(100);
    // The row only, as local D1 counts it (leaving a partial index is not billed as a row; a fresh id needs no
    // outbox watch).
    expect((released?.meta.rows_written ?? 0) / 100).toBe(1);
    console.info(
      JSON.stringify({
        loadRowsReadPer100Jobs: loadRead,
        holdStatementRowsReadPer100JobsNothingPaused: idleRead,
        holdStatementMsPer100JobsNothingPaused: idle[0]?.meta.duration,
        rowsWrittenPerJobHeld: heldWritten / 100,
        rowsWrittenPerJobReleased: (released?.meta.rows_written ?? 0) / 100,
        pauseRowsWritten: pause.meta.rows_written,
        resumeUnpauseRowsWritten: unpaused?.meta.rows_written,
      }),
    );
  });
});
