// Batches under the Workers Free plan's 50 D1 queries per invocation: a 100-job create and a 100-job add each fit.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meterD1 } from "../../src/metering/d1";
import { newTenant } from "../fixtures/api";
import { capturingQueue } from "../fixtures/engine-doubles";
import worker from "../fixtures/worker";

type BatchAnswer = { id: string; total: number; jobs: { id: string }[] };

async function postOnFree(key: string, path: string, body: unknown) {
  const { d1, usage } = meterD1(env.DB);
  const { queue, sent } = capturingQueue();
  const res = await worker.fetch(
    new Request(`http://edge-jobs.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    { ...env, DB: d1, JOBS_QUEUE: queue, ENFORCE_PLATFORM_LIMITS: "free" },
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as BatchAnswer, usage, sent };
}

const hundred = (from: number) =>
  Array.from({ length: 100 }, (_, i) => ({ type: "test-echo", payload: { value: from + i } }));

describe("batches on the Workers Free plan (50 D1 queries per invocation)", () => {
  it("creates a 100-job batch and adds 100 more with a few queries each, not one per job", async () => {
    const { key, tenant } = await newTenant("free-batches");
    const created = await postOnFree(key, "/v1/batches", { jobs: hundred(0), open: true });
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(202);
    expect(created.body.jobs).toHaveLength(100);
    expect(created.sent).toHaveLength(100);
    expect(created.usage.statements).toBeLessThanOrEqual(10);

    const added = await postOnFree(key, `/v1/batches/${created.body.id}/jobs`, { jobs: hundred(100) });
    expect(added.status, JSON.stringify(added.body).slice(0, 300)).toBe(202);
    expect(added.body.total).toBe(200);
    expect(added.sent).toHaveLength(100);
    expect(added.usage.statements).toBeLessThanOrEqual(10);

    const stored = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ? AND batch_id = ?")
      .bind(tenant, created.body.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(200);
  });
});
