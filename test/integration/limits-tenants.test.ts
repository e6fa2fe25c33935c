import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PRUNE_TENANT_PAGE } from "../../src/scheduler/prune";
import { RESCUE_TENANT_PAGE } from "../../src/scheduler/rescue";
import { newTenant } from "../fixtures/api";
import { DAY, MINUTE, tickAt } from "../fixtures/clock";
import { seedJobs } from "../fixtures/seed";
import worker from "../fixtures/worker";

const TENANTS = 1_500;

async function count(sql: string, ...params: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("the tick's sweeps over 1,500 tenants (most without a key)", () => {
  it("covers every tenant in bounded pages, each tick within the Free plan's 50 queries", async () => {
    const now = Date.now();
    const prefix = `many-${now.toString(36)}`;
    const tenants = Array.from({ length: TENANTS }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);
    await env.DB.prepare("INSERT INTO tenants (tenant_id, created_at) SELECT value, ?2 FROM json_each(?1)")
      .bind(JSON.stringify(tenants), now - DAY)
      .run();
    // Every 100th tenant has a queued job whose message was lost (the send failed) ten minutes ago;
    // every tenant has a job that finished past its retention.
    const stranded = await seedJobs(
      tenants
        .filter((_, i) => i % 100 === 7)
        .map((tenantId) => ({ tenantId, status: "queued", createdAt: now - 10 * MINUTE })),
    );
    await seedJobs(
      tenants.map((tenantId) => ({
        tenantId,
        status: "succeeded",
        createdAt: now - 9 * DAY,
        finishedAt: now - 8 * DAY,
      })),
    );
    const oldJobs = () =>
      count(
        "SELECT count(*) AS n FROM jobs WHERE tenant_id > ?1 AND tenant_id < ?2 AND status = 'succeeded' AND finished_at < ?3",
        prefix,
        `${prefix}~`,
        now - 7 * DAY,
      );
    const strandedKeys = JSON.stringify(stranded.map((row) => [row.tenantId, row.id]));
    const resent = () =>
      count(
        `SELECT count(*) AS n FROM jobs WHERE (tenant_id, id) IN
           (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1))
         AND (outbox = 1 OR status <> 'queued')`,
        strandedKeys,
      );
    expect(await oldJobs()).toBe(TENANTS);

    // The Free plan's 50 queries per invocation: any tick that needed one query per tenant would fail here.
    const ticks = Math.ceil(TENANTS / PRUNE_TENANT_PAGE) + 2;
    const progress: { resent: number; oldJobs: number }[] = [];
    for (let i = 0; i < ticks; i++) {
      await tickAt(now + i * MINUTE, { vars: { ENFORCE_PLATFORM_LIMITS: "free" } });
      progress.push({ resent: await resent(), oldJobs: await oldJobs() });
    }
    // Pages, not everything at once: the rescue covers RESCUE_TENANT_PAGE tenants a tick, retention PRUNE_TENANT_PAGE.
    expect(progress[0]?.resent).toBeLessThan(stranded.length);
    expect(progress[0]?.oldJobs).toBeGreaterThan(0);
    const rescueTicks = progress.findIndex((p) => p.resent === stranded.length) + 1;
    expect(rescueTicks).toBeGreaterThan(1);
    expect(rescueTicks).toBeLessThanOrEqual(Math.ceil((TENANTS + 100) / RESCUE_TENANT_PAGE) + 1);
    expect(progress.at(-1)).toEqual({ resent: stranded.length, oldJobs: 0 });
  }, 120_000);

  it("records a tenant on its first job over HTTP, RPC or a schedule fire, and writes no tenant row after that", async () => {
    const isRecorded = async (tenant: string) =>
      (await count("SELECT count(*) AS n FROM tenants WHERE tenant_id = ?", tenant)) === 1;
    const stamp = Date.now().toString(36);
    // RPC: a tenant with no key at all.
    const rpcTenant = `rec-rpc-${stamp}`;
    const answer = await exports.JobsRpc({ props: { tenant: rpcTenant } }).enqueue({ type: "test-echo", payload: {} });
    expect(answer.ok).toBe(true);
    expect(await isRecorded(rpcTenant)).toBe(true);
    // A schedule's first fire, for a tenant with no key and no job yet.
    const scheduleTenant = `rec-sch-${stamp}`;
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO schedules (tenant_id, id, name, cron, timezone, type, payload, job_options, enabled, catch_up, next_run_at, created_at, updated_at)
       VALUES (?1, 'sch_rec', 'rec', '* * * * *', 'UTC', 'test-echo', '{}', '{}', 1, 'latest', ?2, ?2, ?2)`,
    )
      .bind(scheduleTenant, now - MINUTE)
      .run();
    expect(await isRecorded(scheduleTenant)).toBe(false);
    await tickAt(now);
    expect(await isRecorded(scheduleTenant)).toBe(true);
    // HTTP: the key recorded the tenant; its jobs then touch the tenants table no more.
    const { key, tenant } = await newTenant("rec-http");
    expect(await isRecorded(tenant)).toBe(true);
    const statements: string[] = [];
    const recording = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare")
          return (sql: string) => {
            statements.push(sql);
            return target.prepare(sql);
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const res = await worker.fetch(
      new Request("http://edge-jobs.test/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "test-echo", payload: {} }),
      }),
      { ...env, DB: recording },
      createExecutionContext(),
    );
    expect(res.status).toBe(202);
    expect(statements.some((sql) => /insert into "jobs"/i.test(sql))).toBe(true);
    expect(statements.filter((sql) => /tenants/i.test(sql))).toEqual([]);
  });
});
