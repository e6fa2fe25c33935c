// The tick's prune deletes finished batches past retention once their jobs are gone and their callback is settled,
// a bounded number per tenant per tick; a running batch, a pending callback or a kept job keeps the batch row.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids";
import { BATCH_PRUNE_PAGE, pruneFinished } from "../../src/scheduler/prune";
import { newTenant } from "../fixtures/api";
import { seedJobs } from "../fixtures/seed";

const DAY_MS = 86_400_000;

type SeedBatch = { id: string; status: string; finishedAt: number | null; callback?: string | null; createdAt: number };

async function insertBatches(tenant: string, rows: SeedBatch[]) {
  await env.DB.prepare(
    `INSERT INTO batches (tenant_id, id, status, open, total, created_at, updated_at, finished_at, callback_state)
     SELECT ?1, json_extract(value, '$.id'), json_extract(value, '$.status'), 0, 1, json_extract(value, '$.createdAt'),
       json_extract(value, '$.createdAt'), json_extract(value, '$.finishedAt'), json_extract(value, '$.callback')
     FROM json_each(?2)`,
  )
    .bind(tenant, JSON.stringify(rows))
    .run();
}

const callback = (status: string) => JSON.stringify({ status, event: "batch.completed", webhookId: "msg_x" });

async function batchIds(tenant: string) {
  const { results } = await env.DB.prepare("SELECT id FROM batches WHERE tenant_id = ?1 ORDER BY id")
    .bind(tenant)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

describe("retention of batch rows", () => {
  it("prunes old finished batches with no jobs left and a settled callback, and keeps every other", async () => {
    const now = Date.now();
    const { tenant } = await newTenant("prune-batches");
    const old = now - 10 * DAY_MS;
    const id = (offset: number) => newId("bat", old + offset);
    const batches = {
      succeeded: { id: id(1), status: "succeeded", finishedAt: old + 1000, createdAt: old },
      delivered: {
        id: id(2),
        status: "completed",
        finishedAt: old + 1000,
        callback: callback("delivered"),
        createdAt: old,
      },
      failed: { id: id(3), status: "completed", finishedAt: old + 1000, callback: callback("failed"), createdAt: old },
      pending: {
        id: id(4),
        status: "completed",
        finishedAt: old + 1000,
        callback: callback("pending"),
        createdAt: old,
      },
      running: { id: id(5), status: "running", finishedAt: null, createdAt: old },
      withJob: { id: id(6), status: "completed", finishedAt: old + 1000, createdAt: old },
      recent: {
        id: newId("bat", now - DAY_MS),
        status: "succeeded",
        finishedAt: now - DAY_MS,
        createdAt: now - DAY_MS,
      },
    };
    await insertBatches(tenant, Object.values(batches));
    // A dead job is kept 30 days: its batch stays as long as it does.
    const [dead] = await seedJobs([{ tenantId: tenant, status: "dead", createdAt: old, finishedAt: old + 1000 }], now);
    await env.DB.prepare("UPDATE jobs SET batch_id = ?3 WHERE tenant_id = ?1 AND id = ?2")
      .bind(tenant, dead?.id, batches.withJob.id)
      .run();

    await pruneFinished(env.DB, env, now);

    expect(await batchIds(tenant)).toEqual(
      [batches.pending.id, batches.running.id, batches.withJob.id, batches.recent.id].sort(),
    );
    // Once its job is pruned (past the dead retention), the batch goes on a later tick.
    await pruneFinished(env.DB, env, now + 25 * DAY_MS);
    await pruneFinished(env.DB, env, now + 25 * DAY_MS);
    expect(await batchIds(tenant)).toEqual([batches.pending.id, batches.running.id].sort());
  });

  it("deletes at most BATCH_PRUNE_PAGE batches of a tenant per tick", async () => {
    const now = Date.now();
    const { tenant } = await newTenant("prune-batches-page");
    const old = now - 10 * DAY_MS;
    const rows = Array.from({ length: BATCH_PRUNE_PAGE + 7 }, (_, i) => ({
      id: newId("bat", old + i),
      status: "succeeded",
      finishedAt: old + 1000 + i,
      createdAt: old + i,
    }));
    await insertBatches(tenant, rows);
    await pruneFinished(env.DB, env, now);
    expect(await batchIds(tenant)).toHaveLength(7);
    await pruneFinished(env.DB, env, now);
    expect(await batchIds(tenant)).toHaveLength(0);
  });
});
