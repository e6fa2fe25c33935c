import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { INSERT_MANY_MAX_BYTES } from "../../src/db/job-insert";
import { meterD1 } from "../../src/metering/d1";
import { newTenant } from "../fixtures/api";
import { capturingQueue } from "../fixtures/engine-doubles";
import worker from "../fixtures/worker";

/** POST /v1/jobs/batch on the Worker under the Free plan's limits (50 D1 queries per invocation), D1 metered. */
async function batchOnFree(key: string, jobs: Record<string, unknown>[]) {
  const { d1, usage } = meterD1(env.DB);
  const { queue, sent } = capturingQueue();
  const res = await worker.fetch(
    new Request("http://edge-jobs.test/v1/jobs/batch", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ jobs }),
    }),
    { ...env, DB: d1, JOBS_QUEUE: queue, ENFORCE_PLATFORM_LIMITS: "free" },
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as { jobs: Job[] }, usage, sent };
}

async function storedCount(tenant: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(tenant).first<{
    n: number;
  }>();
  return row?.n ?? 0;
}

describe("batch enqueue on the Workers Free plan (50 D1 queries per invocation)", () => {
  it("stores a 100-job batch with a few queries, not one per job", async () => {
    const { key, tenant } = await newTenant("free-batch");
    const jobs = Array.from({ length: 100 }, (_, i) => ({ type: "test-echo", payload: { value: i } }));
    const { status, body, usage, sent } = await batchOnFree(key, jobs);

    expect(status, JSON.stringify(body)).toBe(202);
    expect(body.jobs).toHaveLength(100);
    expect(new Set(body.jobs.map((j) => j.id)).size).toBe(100);
    expect(await storedCount(tenant)).toBe(100);
    expect(sent.map((m) => m.body.id)).toEqual(body.jobs.map((j) => j.id));
    // The key lookup and the tenant row (first request of this tenant) plus the insert: far under 50.
    expect(usage.statements).toBeLessThanOrEqual(3);
    expect(usage.rowsWritten).toBeGreaterThanOrEqual(100);
  });

  it("splits rows whose JSON passes D1's statement size into a few statements, multi-byte text counted in bytes", async () => {
    const { key, tenant } = await newTenant("free-big");
    // 100 payloads of ~3 KB of two-byte characters: ~300 KB of UTF-8, under half that in UTF-16 units.
    const value = "é".repeat(1_500);
    const jobs = Array.from({ length: 100 }, (_, i) => ({ type: "test-echo", payload: { value: `${i}${value}` } }));
    const { status, body, usage } = await batchOnFree(key, jobs);

    expect(status, JSON.stringify(body).slice(0, 300)).toBe(202);
    expect(await storedCount(tenant)).toBe(100);
    const expectedStatements = Math.ceil((100 * 3_000) / INSERT_MANY_MAX_BYTES);
    expect(usage.statements).toBeGreaterThanOrEqual(expectedStatements);
    expect(usage.statements).toBeLessThanOrEqual(expectedStatements + 3);
    const stored = await env.DB.prepare("SELECT payload FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant, body.jobs[7]?.id)
      .first<{ payload: string }>();
    expect(JSON.parse(stored?.payload ?? "{}")).toEqual({ value: `7${value}` });
  });

  it("answers a replayed batch (same idempotency keys) with the original jobs and inserts nothing", async () => {
    const { key, tenant } = await newTenant("free-replay");
    const jobs = Array.from({ length: 40 }, (_, i) => ({
      type: "test-echo",
      payload: { value: i % 20 },
      idempotencyKey: `k-${i % 20}`,
    }));
    const first = await batchOnFree(key, jobs);
    expect(first.status).toBe(202);
    // Two items per key: one job each, created once and sent once.
    expect(new Set(first.body.jobs.map((j) => j.id)).size).toBe(20);
    expect(first.sent).toHaveLength(20);
    expect(await storedCount(tenant)).toBe(20);

    const again = await batchOnFree(key, jobs.slice(0, 20));
    expect(again.status).toBe(202);
    expect(again.body.jobs.map((j) => j.id)).toEqual(first.body.jobs.slice(0, 20).map((j) => j.id));
    expect(again.sent).toHaveLength(0);
    expect(again.usage.rowsWritten).toBe(0);
    expect(await storedCount(tenant)).toBe(20);
  });
});
