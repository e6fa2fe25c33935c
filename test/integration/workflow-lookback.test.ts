// An event wait's lookback counts from the wait's call, not its park (review defect 3): a slow step beside it hides nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { MAX_ATTEMPT_SECONDS } from "../../src/engine/limits";
import { EVENT_PRUNE_MARGIN_MS } from "../../src/scheduler/prune";
import { enqueue, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import { workflowHooks, workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);

describe("the event lookback of a wait beside a slow step", () => {
  it("an event received 5 s after the wait was called is found by a park 90 s after the call", async () => {
    const { key, tenant } = await newTenant("wf-lookback-slow");
    const job = await enqueue(key, { type: "wf-event-beside-slow", payload: { event: "paid" }, delaySeconds: 3600 });
    let clock = Date.now();
    const calledAt = clock;
    workflowHooks.slowStep = async () => {
      // The event lands while the slow step runs; the step ends 90 s after the wait was called.
      await env.DB.prepare("INSERT INTO events (tenant_id, id, name, key, data, received_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(tenant, "evt_during_slow", "paid", null, '{"amount":7}', calledAt + 5_000)
        .run();
      clock = calledAt + 90_000;
    };
    const { queue, sent } = capturingQueue();
    const { batch } = answeringBatch("jobs", [{ id: "lb1", body: { tenant, id: job.id }, attempts: 1 }]);
    await consumeJobs(batch, { ...env, JOBS_QUEUE: queue }, registry, { now: () => clock, random: Math.random });
    workflowHooks.slowStep = async () => {};
    const step = await env.DB.prepare(
      "SELECT status, result FROM job_steps WHERE tenant_id = ? AND job_id = ? AND name = 'wait'",
    )
      .bind(tenant, job.id)
      .first<{ status: string; result: string }>();
    expect(step?.status).toBe("succeeded");
    expect(JSON.parse(step?.result ?? "null")).toEqual({ amount: 7 });
    // The park found it in its own batch: the job is woken at once.
    const row = await env.DB.prepare("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("queued");
    expect(sent.filter((m) => m.body.id === job.id)).toHaveLength(1);
  });

  it("the prune keeps events as long as the longest attempt can look back", () => {
    expect(EVENT_PRUNE_MARGIN_MS).toBeGreaterThanOrEqual(MAX_ATTEMPT_SECONDS * 1000);
  });
});
