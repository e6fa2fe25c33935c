import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { meterD1 } from "../../src/metering/d1";
import { enqueue, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, type Sent } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";
import { workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);
const later = (key: string, body: Record<string, unknown>) => enqueue(key, { delaySeconds: 3600, ...body });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let seq = 0;
/** Delivers messages to the consumer over metered D1 until no message is left for a job (children, wakes, sleeps). */
async function drain(first: JobMessage[], metered: D1Database): Promise<{ deliveries: number }> {
  let pending: Sent[] = first.map((body) => ({ body }));
  let deliveries = 0;
  while (pending.length > 0) {
    const due = Math.max(0, ...pending.map((m) => m.delaySeconds ?? 0));
    if (due > 0) await sleep(due * 1000 + 20);
    const { queue, sent } = capturingQueue();
    const { batch } = answeringBatch(
      "rows",
      pending.map((m) => ({ id: `r${seq++}`, body: m.body })),
    );
    await consumeJobs(batch, { ...env, DB: metered, JOBS_QUEUE: queue }, registry);
    deliveries++;
    pending = sent;
  }
  return { deliveries };
}

/** Rows written to run one job of this type to its end (all its deliveries), and the tenant's counter rows. */
async function rowsFor(
  type: string,
  payload: Record<string, unknown>,
  between?: (tenant: string, key: string) => Promise<void>,
) {
  const { key, tenant } = await newTenant("wf-rows");
  const job = await later(key, { type, payload });
  const { d1, usage } = meterD1(env.DB);
  if (between) {
    const { queue, sent } = capturingQueue();
    const { batch } = answeringBatch("rows", [{ id: `r${seq++}`, body: { tenant, id: job.id } }]);
    await consumeJobs(batch, { ...env, DB: d1, JOBS_QUEUE: queue }, registry);
    // Parked: its only message is its own timeout wake, an hour out (the event comes first).
    expect(sent.map((m) => m.delaySeconds)).toEqual([3600]);
    await between(tenant, key);
  }
  const first = between ? [] : [{ tenant, id: job.id }];
  await drain(first, d1);
  if (between) {
    // The event woke the job: its message went to the captured queue of the event call; deliver it here.
    await drain([{ tenant, id: job.id }], d1);
  }
  const status = await env.DB.prepare("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
    .bind(tenant, job.id)
    .first<{ status: string }>();
  expect(status?.status).toBe("succeeded");
  expect(usage.unmeteredWrites).toBe(0);
  return { rows: usage.rowsWritten, tenant, key };
}

describe("D1 rows written per workflow step (measured)", () => {
  it("costs one row per step.run, and a job that never calls ctx.step costs what a plain job does", async () => {
    const plain = await rowsFor("test-echo", {});
    const noSteps = await rowsFor("wf-runs", { n: 0 });
    const fiveSteps = await rowsFor("wf-runs", { n: 5 });
    expect(noSteps.rows).toBe(plain.rows);
    const perRun = (fiveSteps.rows - noSteps.rows) / 5;
    expect(perRun).toBe(1);
    console.info(JSON.stringify({ plainJobConsumeRows: plain.rows, rowsPerStepRun: perRun }));
  });

  it("measures a sleep, an event wait woken by POST /v1/events, and a child", async () => {
    const twoRuns = await rowsFor("wf-runs", { n: 2 });
    const oneRun = await rowsFor("wf-runs", { n: 1 });
    const zeroRuns = await rowsFor("wf-runs", { n: 0 });
    // wf-sleep: run, sleep 1 s, run.
    const sleeper = await rowsFor("wf-sleep", { seconds: 1 });
    const perSleep = sleeper.rows - twoRuns.rows;

    // wf-event: wait (parked), the event (its row and the wake), run.
    let eventRows = 0;
    const waiter = await rowsFor("wf-event", { event: "rows.measured", timeoutSeconds: 3600 }, async (_tenant, key) => {
      const { d1, usage } = meterD1(env.DB);
      const { queue } = capturingQueue();
      const res = await worker.fetch(
        new Request("http://x/v1/events", {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ name: "rows.measured", data: { ok: true } }),
        }),
        { ...env, DB: d1, JOBS_QUEUE: queue },
        createExecutionContext(),
      );
      expect(res.status).toBe(202);
      eventRows = usage.rowsWritten;
    });
    const perEventWait = waiter.rows + eventRows - oneRun.rows;

    // wf-parent with 20 children: the park, 20 children run, the wake, the parent's end.
    const fanout = await rowsFor("wf-parent", { children: 20 });
    const perChild = (fanout.rows - zeroRuns.rows) / 20;

    console.info(
      JSON.stringify({
        rowsPerSleep: perSleep,
        rowsPerEventWaitAndWake: perEventWait,
        rowsOfTheEventCall: eventRows,
        rowsPerChild: perChild,
        parentWith20ChildrenTotal: fanout.rows,
      }),
    );
    // Bounds that catch a regression (a write per poll, a wake per child), not the exact index bookkeeping.
    expect(perSleep).toBeLessThanOrEqual(8);
    expect(perEventWait).toBeLessThanOrEqual(12);
    expect(perChild).toBeLessThanOrEqual(6);
  });
});
