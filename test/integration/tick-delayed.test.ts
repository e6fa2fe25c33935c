import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobStatus } from "../../src/contract/job";
import { newId } from "../../src/core/ids";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { DAY, MINUTE, tickAt } from "../fixtures/clock";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("delayed jobs through the tick", () => {
  it("takes a 3-day delay from scheduled to queued at its time, never early, then to succeeded", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", payload: { value: "later" }, delaySeconds: 3 * 86_400 });
    expect(job.status).toBe("scheduled");
    const runAt = Date.parse(job.runAt);

    // Ticks before the release window leave it waiting.
    await tickAt(runAt - DAY);
    await tickAt(runAt - 2 * MINUTE);
    expect((await waitForStatus(key, job.id, ["scheduled"])).status).toBe("scheduled");

    // The tick 3 s before its time releases it with the queue's delay for the remainder.
    await tickAt(runAt - 3_000);
    await tickAt(runAt - 3_000); // a repeated tick releases nothing twice
    const queued = await call<{ status: JobStatus; attempts: number }>("GET", `/v1/jobs/${job.id}`, { token: key });
    expect(queued.body).toMatchObject({ status: "queued", attempts: 0 });
    await sleep(1_500);
    // Still waiting out the 3 s queue delay: it does not start early.
    expect((await waitForStatus(key, job.id, ["queued"])).attempts).toBe(0);

    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, result: { echoed: "later" } });
  });
});

describe("retention pruning", () => {
  type Row = { name: string; status: JobStatus; createdDaysAgo: number; finishedDaysAgo: number | null };
  // Defaults: succeeded/cancelled kept 7 days after finishing, dead 30 days.
  const rows: Row[] = [
    { name: "old-succeeded", status: "succeeded", createdDaysAgo: 9, finishedDaysAgo: 8 },
    { name: "old-cancelled", status: "cancelled", createdDaysAgo: 10, finishedDaysAgo: 10 },
    { name: "recently-finished", status: "succeeded", createdDaysAgo: 9, finishedDaysAgo: 6 },
    { name: "fresh-succeeded", status: "succeeded", createdDaysAgo: 1, finishedDaysAgo: 1 },
    { name: "dead-20d", status: "dead", createdDaysAgo: 20, finishedDaysAgo: 20 },
    { name: "dead-31d", status: "dead", createdDaysAgo: 31, finishedDaysAgo: 31 },
    { name: "old-but-waiting", status: "scheduled", createdDaysAgo: 40, finishedDaysAgo: null },
    { name: "old-but-retrying", status: "retrying", createdDaysAgo: 40, finishedDaysAgo: null },
  ];

  async function seed(tenant: string, now: number): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const insert = env.DB.prepare(
      `INSERT INTO jobs (tenant_id, id, type, status, payload, max_attempts, options, run_at, created_at, updated_at, finished_at, metadata)
       VALUES (?, ?, 'test-echo', ?, '{}', 5, '{}', ?, ?, ?, ?, '{}')`,
    );
    await env.DB.batch(
      rows.map((row) => {
        const created = now - row.createdDaysAgo * DAY;
        const id = newId("job", created);
        ids.set(id, row.name);
        const finished = row.finishedDaysAgo === null ? null : now - row.finishedDaysAgo * DAY;
        // Waiting rows are due far ahead so no tick releases or rescues them.
        const runAt = row.finishedDaysAgo === null ? now + 100 * DAY : created;
        return insert.bind(tenant, id, row.status, runAt, created, finished ?? created, finished);
      }),
    );
    return ids;
  }

  async function remaining(tenant: string, ids: Map<string, string>): Promise<string[]> {
    const { results } = await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ? ORDER BY id")
      .bind(tenant)
      .all<{ id: string }>();
    return results.map((r) => ids.get(r.id) ?? r.id).sort();
  }

  it("removes only finished jobs past their retention, by finish time, with the default 7 / 30 days", async () => {
    const { tenant } = await newTenant();
    const now = Date.now();
    const ids = await seed(tenant, now);
    await tickAt(now);
    expect(await remaining(tenant, ids)).toEqual([
      "dead-20d",
      "fresh-succeeded",
      "old-but-retrying",
      "old-but-waiting",
      "recently-finished",
    ]);
  });

  it("follows RETENTION_DAYS and DEAD_RETENTION_DAYS", async () => {
    const { tenant } = await newTenant();
    const now = Date.now();
    const ids = await seed(tenant, now);
    await tickAt(now, { vars: { RETENTION_DAYS: "2", DEAD_RETENTION_DAYS: "15" } });
    expect(await remaining(tenant, ids)).toEqual(["fresh-succeeded", "old-but-retrying", "old-but-waiting"]);
  });
});
