// Retention never deletes the finished jobs of a running batch: its counts are recounted from the job rows.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pruneFinished } from "../../src/scheduler/prune";
import { newTenant } from "../fixtures/api";
import { seedJobs } from "../fixtures/seed";

const DAY_MS = 86_400_000;

async function insertBatch(tenant: string, id: string, status: string, now: number) {
  await env.DB.prepare(
    `INSERT INTO batches (tenant_id, id, status, open, total, succeeded, created_at, updated_at)
     VALUES (?1, ?2, ?3, 0, 2, 1, ?4, ?4)`,
  )
    .bind(tenant, id, status, now - 10 * DAY_MS)
    .run();
}

describe("retention and batches", () => {
  it("keeps a running batch's finished jobs past retention, and prunes those of finished batches and of no batch", async () => {
    const now = Date.now();
    const { tenant } = await newTenant("prune-batch");
    await insertBatch(tenant, "bat_running", "running", now);
    await insertBatch(tenant, "bat_done", "completed", now);
    const old = now - 10 * DAY_MS;
    const [inRunning, inDone] = await seedJobs(
      ["bat_running", "bat_done", null].map(() => ({
        tenantId: tenant,
        status: "succeeded",
        createdAt: old,
        finishedAt: old + 1000,
      })),
      now,
    );
    await env.DB.prepare("UPDATE jobs SET batch_id = ?3 WHERE tenant_id = ?1 AND id = ?2")
      .bind(tenant, inRunning?.id, "bat_running")
      .run();
    await env.DB.prepare("UPDATE jobs SET batch_id = ?3 WHERE tenant_id = ?1 AND id = ?2")
      .bind(tenant, inDone?.id, "bat_done")
      .run();

    await pruneFinished(env.DB, env, now);

    const { results } = await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ?1")
      .bind(tenant)
      .all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual([inRunning?.id]);
  });
});
