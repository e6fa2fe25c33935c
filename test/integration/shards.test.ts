// Shards (issue #17): with JOBS_DBS listing three databases, tenants are placed on the least-loaded one, every
// message names its shard, the consumer runs each shard's messages on that shard's database, and the cron tick fans
// out one maintenance message per shard. The real queues deliver to the suite's unsharded env, so these tests send
// through capturing queues and deliver the captured messages themselves.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { ADMIN_TOKEN } from "../fixtures/api";
import { answeringBatch, capturingQueue, type Sent } from "../fixtures/engine-doubles";
import worker from "../fixtures/worker";
import { workerRequest } from "../fixtures/worker-request";

const SHARDS = ["DB", "JOBS_DB_1", "JOBS_DB_2"] as const;
type Shard = (typeof SHARDS)[number];

function shardedEnv() {
  const main = capturingQueue();
  const critical = capturingQueue();
  const testEnv = { ...env, JOBS_DBS: SHARDS.join(","), JOBS_QUEUE: main.queue, JOBS_QUEUE_CRITICAL: critical.queue };
  return { testEnv, sent: main.sent };
}

const request = <T>(testEnv: Env, token: string, method: string, path: string, body?: unknown) =>
  workerRequest(testEnv, token)<T>(method, path, body);

let counter = 0;
async function newShardedTenant(testEnv: Env) {
  const tenant = `shard-${Date.now().toString(36)}-${counter++}`;
  const res = await request<{ key: string }>(testEnv, ADMIN_TOKEN, "POST", "/v1/keys", { tenant, name: "t" });
  expect(res.status).toBe(201);
  const placed = await env.DB.prepare("SELECT shard FROM tenant_shards WHERE tenant_id = ?").bind(tenant).first();
  return { tenant, key: res.body.key, shard: placed?.shard as Shard };
}

async function tenantsWithJobs(shard: Shard): Promise<string[]> {
  const { results } = await env[shard].prepare("SELECT DISTINCT tenant_id FROM jobs").all<{ tenant_id: string }>();
  return results.map((r) => r.tenant_id);
}

async function statusIn(shard: Shard, tenant: string, id: string): Promise<string | null> {
  const row = await env[shard]
    .prepare("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
    .bind(tenant, id)
    .first<{ status: string }>();
  return row?.status ?? null;
}

const delivered = (sent: Sent[]) => sent.map((m, i) => ({ id: `m${i}`, body: m.body }));

describe("shards", () => {
  it("places three new tenants on three shards and keeps each one's jobs in its own database", async () => {
    const { testEnv, sent } = shardedEnv();
    const tenants: Awaited<ReturnType<typeof newShardedTenant>>[] = [];
    for (let i = 0; i < 3; i++) tenants.push(await newShardedTenant(testEnv));
    // Placement is by fewest tenants: three placed one after another on a fresh file's databases use all three.
    expect(new Set(tenants.map((t) => t.shard))).toEqual(new Set(SHARDS));

    const jobs = new Map<string, Job[]>();
    for (const t of tenants) {
      const res = await request<{ jobs: Job[] }>(testEnv, t.key, "POST", "/v1/jobs/batch", {
        jobs: [
          { type: "test-echo", payload: { value: t.tenant } },
          { type: "test-echo", payload: { value: 2 } },
        ],
      });
      expect(res.status).toBe(202);
      jobs.set(t.tenant, res.body.jobs);
    }
    // Every message names the shard of its tenant, so the consumer never looks the tenant up.
    for (const t of tenants) {
      const mine = sent.filter((m) => m.body.tenant === t.tenant);
      expect(mine).toHaveLength(2);
      // With several shards every message names its shard, the first one's (DB) included.
      for (const m of mine) expect((m.body as { shard?: string }).shard).toBe(t.shard);
    }
    for (const shard of SHARDS) {
      const expected = tenants.filter((t) => t.shard === shard).map((t) => t.tenant);
      const found = (await tenantsWithJobs(shard)).filter((tenant) => tenants.some((t) => t.tenant === tenant));
      expect(found.sort()).toEqual(expected.sort());
    }

    // One consumer batch holding all three tenants' messages: each part runs on its own shard.
    const { batch, answers } = answeringBatch("jobs", delivered(sent));
    await worker.queue(batch, testEnv, createExecutionContext());
    expect([...answers.values()].every((a) => a.kind === "ack")).toBe(true);
    for (const t of tenants) {
      for (const job of jobs.get(t.tenant) ?? []) {
        expect(await statusIn(t.shard, t.tenant, job.id)).toBe("succeeded");
        for (const other of SHARDS.filter((s) => s !== t.shard))
          expect(await statusIn(other, t.tenant, job.id)).toBe(null);
      }
      // The API reads the tenant's own shard: its job is found, another tenant's is not.
      const first = jobs.get(t.tenant)?.[0] as Job;
      const got = await request<Job>(testEnv, t.key, "GET", `/v1/jobs/${first.id}`);
      expect(got.status).toBe(200);
      expect(got.body.status).toBe("succeeded");
      const someoneElses = jobs.get(tenants.find((o) => o.tenant !== t.tenant)?.tenant ?? "")?.[0] as Job;
      expect((await request(testEnv, t.key, "GET", `/v1/jobs/${someoneElses.id}`)).status).toBe(404);
      const metrics = await request<{ succeeded?: number; counts?: Record<string, number> }>(
        testEnv,
        t.key,
        "GET",
        "/v1/metrics",
      );
      expect(metrics.status).toBe(200);
    }
  });

  it("keeps a tenant on its shard in every isolate: the placement is stored in the control database", async () => {
    const { testEnv } = shardedEnv();
    const t = await newShardedTenant(testEnv);
    const again = await request<{ key: string }>(testEnv, ADMIN_TOKEN, "POST", "/v1/keys", {
      tenant: t.tenant,
      name: "second key",
    });
    expect(again.status).toBe(201);
    const { results } = await env.DB.prepare("SELECT shard FROM tenant_shards WHERE tenant_id = ?")
      .bind(t.tenant)
      .all<{ shard: string }>();
    expect(results).toEqual([{ shard: t.shard }]);
    // No shard but the control database holds keys or placements.
    for (const shard of SHARDS.filter((s) => s !== "DB")) {
      const keys = await env[shard].prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>();
      const placements = await env[shard].prepare("SELECT count(*) AS n FROM tenant_shards").first<{ n: number }>();
      expect([keys?.n, placements?.n]).toEqual([0, 0]);
    }
  });

  it("fans the cron tick out as one maintenance message per shard, and runs one shard's tick per invocation", async () => {
    const { testEnv, sent } = shardedEnv();
    let t = await newShardedTenant(testEnv);
    while (t.shard === "DB") t = await newShardedTenant(testEnv);
    // Two days out: past what a queue message can wait, so the job is held in D1 until a tick releases it.
    const later = Date.now() + 2 * 86_400_000 + 60_000;
    const delayed = await request<Job>(testEnv, t.key, "POST", "/v1/jobs", {
      type: "test-echo",
      payload: {},
      delaySeconds: 2 * 86_400,
    });
    expect(delayed.status).toBe(202);
    expect(sent).toHaveLength(0);

    await worker.scheduled(
      { scheduledTime: later, cron: "* * * * *", noRetry() {} },
      testEnv,
      createExecutionContext(),
    );
    const maintenance = sent.splice(0);
    expect(maintenance.map((m) => m.body)).toEqual(
      SHARDS.map((shard) => ({ kind: "maintenance", shard, scheduledTime: later })),
    );

    // One batch with all three: the first shard's tick runs, the other two are sent again for invocations of their own.
    const { batch, answers } = answeringBatch("jobs", delivered(maintenance));
    await worker.queue(batch, testEnv, createExecutionContext());
    expect([...answers.values()].map((a) => a.kind)).toEqual(["ack", "ack", "ack"]);
    const resent = sent.splice(0);
    expect(resent.map((m) => (m.body as unknown as { shard: string }).shard)).toEqual(["JOBS_DB_1", "JOBS_DB_2"]);

    // The delayed job's shard's tick releases it: its message names that shard.
    const own = resent.find((m) => (m.body as unknown as { shard: string }).shard === t.shard) as Sent;
    await worker.queue(
      answeringBatch("jobs", [{ id: "own", body: own.body }]).batch,
      testEnv,
      createExecutionContext(),
    );
    const released = sent.splice(0);
    expect(released.map((m) => m.body)).toContainEqual(
      expect.objectContaining({ tenant: t.tenant, id: delayed.body.id, shard: t.shard }),
    );
    expect(await statusIn(t.shard, t.tenant, delayed.body.id)).toBe("queued");
  });

  it("retries, and never drops, messages naming a shard the deployment does not list", async () => {
    const { testEnv } = shardedEnv();
    const { batch, answers } = answeringBatch("jobs", [
      { id: "lost", body: { tenant: "nobody", id: "job_x", shard: "JOBS_DB_9" } },
    ]);
    await worker.queue(batch, testEnv, createExecutionContext());
    expect(answers.get("lost")).toMatchObject({ kind: "retry", delaySeconds: 300 });
  });

  it("refuses a JOBS_DBS that does not start with the control database", async () => {
    const { testEnv } = shardedEnv();
    const bad = { ...testEnv, JOBS_DBS: "JOBS_DB_1,DB" };
    await expect(request(bad, ADMIN_TOKEN, "GET", "/v1/keys")).rejects.toThrow(/must start with DB/);
  });
});
