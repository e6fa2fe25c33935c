// A cancelled workflow retried by hand (review defect 2): the waits its cancel closed are waited again, not skipped.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { log } from "../../src/core/logger";
import { openDb } from "../../src/db/client";
import { consumeJobs } from "../../src/engine/consumer";
import { cancelJobCascade } from "../../src/service/cancel-job";
import { requeueByHand } from "../../src/service/manage-jobs";
import { enqueue, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import { workflowEffects, workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);
const effects = (jobId: string, step: string) => workflowEffects.get(`${jobId}/${step}`) ?? 0;

let seq = 0;
async function deliver(bodies: JobMessage[]) {
  const { queue, sent } = capturingQueue();
  const { batch } = answeringBatch(
    "jobs",
    bodies.map((body) => ({ id: `rt${seq++}`, body, attempts: 1 })),
  );
  await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
  return sent;
}

const jobRow = (tenant: string, id: string) =>
  env.DB.prepare("SELECT status, result, waiting_for FROM jobs WHERE tenant_id = ? AND id = ?")
    .bind(tenant, id)
    .first<{ status: string; result: string | null; waiting_for: string | null }>();
const stepRow = (tenant: string, id: string, name: string) =>
  env.DB.prepare("SELECT status, error, child_id FROM job_steps WHERE tenant_id = ? AND job_id = ? AND name = ?")
    .bind(tenant, id, name)
    .first<{ status: string; error: string | null; child_id: string | null }>();

/** Parks the job, cancels it (closing its waits), retries it by hand and delivers the retry's message. */
async function parkCancelRetry(name: string, body: Record<string, unknown>) {
  const { key, tenant } = await newTenant(name);
  const job = await enqueue(key, { delaySeconds: 3600, ...body });
  const parked = await deliver([{ tenant, id: job.id }]);
  const { queue, sent } = capturingQueue();
  const deps = { db: openDb(env.DB), queue: queue as Queue<JobMessage>, log };
  expect((await cancelJobCascade(deps, tenant, job.id, Date.now()))?.status).toBe("cancelled");
  const retried = await requeueByHand({ ...deps, tenant }, [job.id]);
  expect(retried).toHaveLength(1);
  const rerun = await deliver(sent.map((m) => m.body));
  return { tenant, id: job.id, parked, rerun };
}

describe("retry by hand of a cancelled workflow", () => {
  it("waits for the event again (the closed wait is reopened), instead of timing out at once", async () => {
    const { tenant, id } = await parkCancelRetry("wf-retry-event", {
      type: "wf-event",
      payload: { event: "payment.captured", timeoutSeconds: 3600 },
    });
    const row = await jobRow(tenant, id);
    expect(row?.status).toBe("waiting");
    expect(JSON.parse(row?.waiting_for ?? "null")).toMatchObject({ kind: "event", event: "payment.captured" });
    expect((await stepRow(tenant, id, "wait"))?.status).toBe("waiting");
    expect(effects(id, "after")).toBe(0);
  });

  it("sleeps again", async () => {
    const { tenant, id } = await parkCancelRetry("wf-retry-sleep", { type: "wf-sleep", payload: { seconds: 3600 } });
    expect((await jobRow(tenant, id))?.status).toBe("waiting");
    expect((await stepRow(tenant, id, "nap"))?.status).toBe("waiting");
    expect([effects(id, "before"), effects(id, "after")]).toEqual([1, 0]);
  });

  it("invokes fresh children (the cancelled ones are not reported dead) and ends with their results", async () => {
    const { tenant, id, parked, rerun } = await parkCancelRetry("wf-retry-invoke", {
      type: "wf-parent",
      payload: { children: 2 },
    });
    expect((await jobRow(tenant, id))?.status).toBe("waiting");
    const oldChildren = new Set(parked.map((m) => m.body.id));
    const newChildren = rerun.filter((m) => m.body.id !== id).map((m) => m.body);
    expect(newChildren).toHaveLength(2);
    for (const child of newChildren) expect(oldChildren.has(child.id)).toBe(false);
    expect((await stepRow(tenant, id, "child-0"))?.child_id).toBe(newChildren[0]?.id);
    const woke = await deliver(newChildren);
    await deliver(woke.filter((m) => m.body.id === id).map((m) => m.body));
    const done = await jobRow(tenant, id);
    expect(done?.status).toBe("succeeded");
    expect(JSON.parse(done?.result ?? "{}")).toEqual({ results: [0, 2], failed: [] });
  });
});
