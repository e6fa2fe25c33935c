// Deleting a finished workflow job deletes its steps (review defect 6): an id re-created later replays nothing old.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { call, enqueue, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import { workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);
let seq = 0;
async function deliver(tenant: string, id: string) {
  const { queue } = capturingQueue();
  const { batch } = answeringBatch("jobs", [{ id: `del${seq++}`, body: { tenant, id }, attempts: 1 }]);
  await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry);
}
const stepCount = async (tenant: string, id: string) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM job_steps WHERE tenant_id = ? AND job_id = ?")
      .bind(tenant, id)
      .first<{ n: number }>()
  )?.n ?? -1;

describe("DELETE /v1/jobs/:id of a workflow job", () => {
  it("deletes a finished job's steps with it; a job that may not be deleted keeps them", async () => {
    const { key, tenant } = await newTenant("wf-delete");
    const done = await enqueue(key, { type: "wf-runs", payload: { n: 2 }, delaySeconds: 3600 });
    await deliver(tenant, done.id);
    expect(await stepCount(tenant, done.id)).toBe(2);
    const waiting = await enqueue(key, { type: "wf-sleep", payload: { seconds: 3600 }, delaySeconds: 3600 });
    await deliver(tenant, waiting.id);
    expect(await stepCount(tenant, waiting.id)).toBe(2);

    const deleted = await call("DELETE", `/v1/jobs/${done.id}`, { token: key });
    expect(deleted.status).toBeLessThan(300);
    expect(await stepCount(tenant, done.id)).toBe(0);
    const refused = await call("DELETE", `/v1/jobs/${waiting.id}`, { token: key });
    expect(refused.status).toBe(409);
    expect(await stepCount(tenant, waiting.id)).toBe(2);
  });
});
