// A paused type holds its parked workflow jobs too (review defect 4): a due `waiting` job is held, not run.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { call, enqueue, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import { workflowEffects, workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);
const effects = (jobId: string, step: string) => workflowEffects.get(`${jobId}/${step}`) ?? 0;

let seq = 0;
async function deliver(tenant: string, id: string) {
  const { queue, sent } = capturingQueue();
  const { batch } = answeringBatch("jobs", [{ id: `pz${seq++}`, body: { tenant, id }, attempts: 1 }]);
  await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
  return sent;
}
const jobRow = (tenant: string, id: string) =>
  env.DB.prepare("SELECT status, paused, waiting_for FROM jobs WHERE tenant_id = ? AND id = ?")
    .bind(tenant, id)
    .first<{ status: string; paused: number; waiting_for: string | null }>();

describe("a paused type and its parked workflow jobs", () => {
  it("holds a waiting job whose sleep is over: not run while its type is paused", async () => {
    const { key, tenant } = await newTenant("wf-paused");
    const job = await enqueue(key, { type: "wf-sleep", payload: { seconds: 3600 }, delaySeconds: 3600 });
    await deliver(tenant, job.id);
    expect((await jobRow(tenant, job.id))?.status).toBe("waiting");
    expect((await call("POST", "/v1/job-types/wf-sleep/pause", { token: key })).status).toBe(200);
    // Its wake is due now (as if the hour had passed): the delivery finds the type paused.
    await env.DB.prepare("UPDATE job_steps SET wake_at = ?3 WHERE tenant_id = ?1 AND job_id = ?2 AND name = 'nap'")
      .bind(tenant, job.id, Date.now() - 1)
      .run();
    await env.DB.prepare("UPDATE jobs SET run_at = ?3 WHERE tenant_id = ?1 AND id = ?2")
      .bind(tenant, job.id, Date.now() - 1)
      .run();
    await deliver(tenant, job.id);
    expect(effects(job.id, "after")).toBe(0);
    const held = await jobRow(tenant, job.id);
    expect([held?.status, held?.paused, held?.waiting_for]).toEqual(["queued", 1, null]);
  });
});
