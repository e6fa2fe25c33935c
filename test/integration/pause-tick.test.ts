import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job, JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { log } from "../../src/core/logger";
import { consumeJobs } from "../../src/engine/consumer";
import { tick } from "../../src/scheduler/tick";
import { resumeJobType } from "../../src/service/job-types";
import { call, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, type Sent } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

const registry = createRegistry([...defaultJobs, ...testJobs]);
const MINUTE = 60_000;

/** Enqueues through the Worker with its queue sends captured (so the real queue never sees these messages). */
async function enqueueCaptured(key: string, jobs: Record<string, unknown>[]): Promise<{ jobs: Job[]; sent: Sent[] }> {
  const { queue, sent } = capturingQueue();
  const res = await worker.fetch(
    new Request("http://x/v1/jobs/batch", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ jobs }),
    }),
    { ...env, JOBS_QUEUE: queue },
    createExecutionContext(),
  );
  expect(res.status).toBe(202);
  return { jobs: ((await res.json()) as { jobs: Job[] }).jobs, sent };
}

async function hold(sent: Sent[]) {
  const { batch } = answeringBatch(
    "jobs",
    sent.map((m, i) => ({ id: `h${i}`, body: m.body })),
  );
  await consumeJobs(batch, { ...env, JOBS_QUEUE: capturingQueue().queue }, registry);
}

type Row = { id: string; status: string; paused: number; outbox: number; runAt: number };
const rowsOf = async (tenant: string, ids: string[]) =>
  (
    await env.DB.prepare(
      `SELECT id, status, paused, outbox, run_at AS runAt FROM jobs WHERE tenant_id = ?1
         AND id IN (SELECT value FROM json_each(?2)) ORDER BY id`,
    )
      .bind(tenant, JSON.stringify(ids))
      .all<Row>()
  ).results;

/** Ticks with sends captured, `at` ms from now (a clock past the outbox grace period). */
async function tickAt(at: number) {
  const { queue, sent } = capturingQueue();
  const report = await tick({ ...env, JOBS_QUEUE: queue }, Date.now() + at, { registry });
  return { report, ids: sent.map((m) => (m.body as JobMessage).id) };
}

describe("the tick and held jobs", () => {
  it("the outbox rescue never re-sends a held job, while it still re-sends a lost message beside it", async () => {
    const { key, tenant } = await newTenant("tick-held");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    const held = await enqueueCaptured(
      key,
      Array.from({ length: 5 }, () => ({ type: "test-count", payload: { ms: 0 } })),
    );
    await hold(held.sent);
    const heldIds = held.jobs.map((j) => j.id);
    const before = await rowsOf(tenant, heldIds);
    expect(before.map((r) => [r.status, r.paused])).toEqual(heldIds.map(() => ["queued", 1]));
    // Its message "lost" (captured, never delivered): the rescue must find this one.
    const lost = await enqueueCaptured(key, [{ type: "test-echo", payload: {} }]);
    const lostId = lost.jobs[0]?.id ?? "";

    const sentIds: string[] = [];
    for (let i = 0; i < 3; i++) sentIds.push(...(await tickAt(10 * MINUTE)).ids);
    expect(sentIds).toContain(lostId);
    expect(sentIds.filter((id) => heldIds.includes(id))).toEqual([]);
    // Untouched: not marked re-sent, not watched.
    expect(await rowsOf(tenant, heldIds)).toEqual(before);
  }, 60_000);

  it("releases what a resume left over, on the next tick", async () => {
    const { key, tenant } = await newTenant("tick-rest");
    expect((await call("POST", "/v1/job-types/test-count/pause", { token: key })).status).toBe(200);
    const held = await enqueueCaptured(
      key,
      Array.from({ length: 5 }, () => ({ type: "test-count", payload: { ms: 0 } })),
    );
    await hold(held.sent);
    const ids = held.jobs.map((j) => j.id);
    const { queue, sent } = capturingQueue();
    const deps = { d1: env.DB, queue: queue as Queue<JobMessage>, registry, tenant, log, now: Date.now() };
    // A resume whose own pages were not enough (2 of 5 here).
    await resumeJobType(deps, "test-count", { pageSize: 2, pages: 1 });
    expect(sent).toHaveLength(2);

    const next = await tickAt(0);
    expect(next.report.releasedHeld).toBeGreaterThanOrEqual(3);
    const released = [...sent.map((m) => m.body.id), ...next.ids.filter((id) => ids.includes(id))];
    expect(released.sort()).toEqual([...ids].sort());
    expect((await rowsOf(tenant, ids)).map((r) => [r.status, r.paused])).toEqual(ids.map(() => ["queued", 0]));
  }, 60_000);
});
