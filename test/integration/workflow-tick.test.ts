import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { log } from "../../src/core/logger";
import { openDb } from "../../src/db/client";
import { consumeJobs } from "../../src/engine/consumer";
import { releaseDelayed } from "../../src/scheduler/release-delayed";
import { enqueue, newTenant } from "../fixtures/api";
import { HOUR, MINUTE } from "../fixtures/clock";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import { workflowRuns, workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);
const GRACE_MS = 300_000;

async function park(type: string, payload: Record<string, unknown>) {
  const { key, tenant } = await newTenant("wf-tick");
  const job = await enqueue(key, { type, payload, delaySeconds: 3600 });
  const { queue, sent } = capturingQueue();
  const { batch } = answeringBatch("jobs", [{ id: `p-${job.id}`, body: { tenant, id: job.id } }]);
  await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
  const row = await env.DB.prepare("SELECT status, run_at AS runAt, outbox FROM jobs WHERE tenant_id = ? AND id = ?")
    .bind(tenant, job.id)
    .first<{ status: string; runAt: number; outbox: number }>();
  return { tenant, id: job.id, sent, row };
}

const status = async (tenant: string, id: string) =>
  (
    await env.DB.prepare("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, id)
      .first<{ status: string }>()
  )?.status;

/** One release phase of the tick at `now`, with the queue captured. */
async function releaseAt(now: number) {
  const { queue, sent } = capturingQueue();
  const report = await releaseDelayed(openDb(env.DB), queue as Queue<JobMessage>, log, now, GRACE_MS);
  return { report, sent };
}

describe("the tick wakes parked jobs", () => {
  it("wakes a sleep longer than the queue's 12 h delay: no message at park, released by the tick when due", async () => {
    const parked = await park("wf-sleep", { seconds: 13 * 3600 });
    expect(parked.row?.status).toBe("waiting");
    // Too far for a queue delay: no wake message, and the row is watched for the tick.
    expect(parked.sent).toHaveLength(0);
    expect(parked.row?.outbox).toBe(1);
    const runAt = parked.row?.runAt ?? 0;

    // An hour before: not released.
    const early = await releaseAt(runAt - HOUR);
    expect(early.sent.filter((m) => m.body.id === parked.id)).toHaveLength(0);
    expect(await status(parked.tenant, parked.id)).toBe("waiting");

    // Within the release window: queued, its message delayed to the sleep's end (never early).
    const due = await releaseAt(runAt - MINUTE);
    const messages = due.sent.filter((m) => m.body.id === parked.id);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.delaySeconds).toBe(60);
    expect(await status(parked.tenant, parked.id)).toBe("queued");
  });

  it("re-sends a lost wake of a short sleep only once it is overdue by the grace period", async () => {
    const parked = await park("wf-sleep", { seconds: 600 });
    // The wake went out as a delayed message: the tick leaves the row alone until that message is overdue.
    expect(parked.sent.map((m) => m.delaySeconds)).toEqual([600]);
    expect(parked.row?.outbox).toBe(0);
    const runAt = parked.row?.runAt ?? 0;
    expect((await releaseAt(runAt + MINUTE)).sent.filter((m) => m.body.id === parked.id)).toHaveLength(0);
    const overdue = await releaseAt(runAt + GRACE_MS + MINUTE);
    expect(overdue.sent.filter((m) => m.body.id === parked.id)).toHaveLength(1);
    expect(await status(parked.tenant, parked.id)).toBe("queued");
  });

  it("never runs a sleep early: a woken job whose sleep has not ended parks again without running a step", async () => {
    const parked = await park("wf-sleep", { seconds: 13 * 3600 });
    await releaseAt((parked.row?.runAt ?? 0) - MINUTE);
    expect(await status(parked.tenant, parked.id)).toBe("queued");
    // Delivered now (long before the sleep ends): the re-run finds the sleep unfinished and parks again.
    const runsBefore = workflowRuns.get(parked.id) ?? 0;
    const { queue } = capturingQueue();
    const { batch } = answeringBatch("jobs", [
      { id: `again-${parked.id}`, body: { tenant: parked.tenant, id: parked.id } },
    ]);
    await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
    expect(workflowRuns.get(parked.id)).toBe(runsBefore + 1);
    expect(await status(parked.tenant, parked.id)).toBe("waiting");
    const steps = await env.DB.prepare(
      "SELECT name, status FROM job_steps WHERE tenant_id = ? AND job_id = ? ORDER BY name",
    )
      .bind(parked.tenant, parked.id)
      .all<{ name: string; status: string }>();
    expect(steps.results).toEqual([
      { name: "before", status: "succeeded" },
      { name: "nap", status: "waiting" },
    ]);
  });
});
