// Duplicate wake messages of one workflow job (review defect 1): two deliveries never run its steps twice.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { enqueue, newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, STAGE_SQL } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import { workflowEffects, workflowRuns, workflowTestJobs } from "../fixtures/workflow-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs, ...workflowTestJobs]);
const effects = (jobId: string, step: string) => workflowEffects.get(`${jobId}/${step}`) ?? 0;
const runs = (jobId: string) => workflowRuns.get(jobId) ?? 0;

let seq = 0;
async function deliver(body: JobMessage, d1: D1Database = env.DB) {
  const { queue, sent } = capturingQueue();
  const id = `dup${seq++}`;
  const { batch, answers } = answeringBatch("jobs", [{ id, body, attempts: 1 }]);
  await consumeJobs(batch, { ...env, JOBS_QUEUE: queue, DB: d1 }, registry);
  return { sent, answer: answers.get(id) };
}

/** The real D1, except that a batch() holding a claim waits until `release()`: a consumer slow to claim. */
function slowClaims() {
  const sqlOf = new WeakMap<object, string>();
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const wrap = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args), sql);
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    sqlOf.set(wrapped, sql);
    return wrapped;
  };
  const state = { held: false };
  const d1 = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          if (statements.some((s) => STAGE_SQL.claim(sqlOf.get(s) ?? ""))) {
            state.held = true;
            await released;
          }
          return target.batch(statements);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1, release, state };
}

/** Parks a wf-wake-sleep job on its event, then wakes it as an event does (step done, job queued, outbox = 1). */
async function wokenJob(name: string) {
  const { key, tenant } = await newTenant(name);
  const job = await enqueue(key, { type: "wf-wake-sleep", payload: { event: "paid" }, delaySeconds: 3600 });
  const body = { tenant, id: job.id };
  await deliver(body);
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      "UPDATE job_steps SET status = 'succeeded', result = '{\"ok\":true}', finished_at = ?3 WHERE tenant_id = ?1 AND job_id = ?2 AND name = 'wait' AND status = 'waiting'",
    ).bind(tenant, job.id, now),
    env.DB.prepare(
      "UPDATE jobs SET status = 'queued', run_at = ?3, outbox = 1, waiting_for = NULL, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND status = 'waiting'",
    ).bind(tenant, job.id, now),
  ]);
  return { tenant, id: job.id, body };
}

const status = async (tenant: string, id: string) =>
  (
    await env.DB.prepare("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, id)
      .first<{ status: string }>()
  )?.status;

describe("duplicate deliveries of a woken workflow job", () => {
  it("two deliveries in two consumer batches at once: each step's side effect happens once", async () => {
    const { tenant, id, body } = await wokenJob("wf-dup-wake");
    expect(runs(id)).toBe(1);
    const [a, b] = await Promise.all([deliver(body), deliver(body)]);
    expect(effects(id, "follow-up")).toBe(1);
    expect(runs(id)).toBe(2);
    expect(await status(tenant, id)).toBe("waiting");
    // The loser came back later as a fresh message (its claim lost), not as a second run.
    expect([a.answer?.kind, b.answer?.kind].sort()).toEqual(["ack", "ack"]);
    expect(a.sent.length + b.sent.length).toBeGreaterThanOrEqual(2);
  });

  it("a delivery read before a run that parked again cannot claim the job after that park (run token bumped)", async () => {
    const { tenant, id, body } = await wokenJob("wf-dup-token");
    const slow = slowClaims();
    // The second delivery reads the woken row, then is slow to claim: the first runs and parks on its sleep meanwhile.
    const stale = deliver(body, slow.d1);
    for (let i = 0; i < 400 && !slow.state.held; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    // A woken job is claimed before it runs (an unclaimed run would not stop here).
    expect(slow.state.held).toBe(true);
    await deliver(body);
    expect(await status(tenant, id)).toBe("waiting");
    slow.release();
    await stale;
    expect(runs(id)).toBe(2);
    expect(effects(id, "follow-up")).toBe(1);
    expect(await status(tenant, id)).toBe("waiting");
  });
});
