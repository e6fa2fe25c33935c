import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids";
import { openDb } from "../../src/db/client";
import { insertJobs, storedJobRow } from "../../src/db/job-insert";
import { jobs } from "../../src/db/schema";
import { call, newTenant } from "../fixtures/api";
import { capturingQueue } from "../fixtures/engine-doubles";
import worker from "../fixtures/worker";

/** A D1 binding that counts prepare() calls and the distinct SQL texts it was given. */
function countingD1(d1: D1Database) {
  const seen = { prepares: 0, texts: new Set<string>() };
  const counted = new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => {
          seen.prepares++;
          seen.texts.add(sql);
          return target.prepare(sql);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1: counted, seen };
}

describe("the enqueue hot path", () => {
  it("prepares the job INSERT once for a 100-job batch, not once per row", async () => {
    const { key, tenant } = await newTenant("hot");
    const { d1, seen } = countingD1(env.DB);
    const res = await worker.fetch(
      new Request("http://x/v1/jobs/batch", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ jobs: Array.from({ length: 100 }, (_, i) => ({ type: "test-echo", payload: { i } })) }),
      }),
      { ...env, DB: d1 },
      createExecutionContext(),
    );
    expect(res.status).toBe(202);
    const inserts = [...seen.texts].filter((sql) => /^\s*insert into "jobs"/i.test(sql));
    expect(inserts).toHaveLength(1);
    // The insert, plus at most a tenant record and a key lookup: never one per job.
    expect(seen.prepares).toBeLessThanOrEqual(4);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(tenant).first();
    expect(stored?.n).toBe(100);
  });

  it("stores exactly the row it answers, the schema's defaults included", async () => {
    const db = openDb(env.DB);
    const now = Date.now();
    const row = storedJobRow({
      tenantId: "hot-row",
      id: newId("job", now),
      type: "test-echo",
      status: "queued",
      payload: '{"a":1}',
      maxAttempts: 3,
      options: "{}",
      runAt: now,
      createdAt: now,
      updatedAt: now,
      idempotencyKey: null,
      callbackUrl: "https://example.com/cb",
      metadata: '{"order":"o-1"}',
    });
    expect(row.attempts).toBe(0);
    expect(row.outbox).toBe(0);
    expect(row.attemptLog).toBe("[]");
    expect(row.result).toBeNull();

    expect(await insertJobs(db, [row])).toEqual([true]);
    const [read] = await db.select().from(jobs).where(eq(jobs.id, row.id));
    expect(read).toEqual(row);
  });

  it("reports an id that already exists as not created and leaves its row alone", async () => {
    const db = openDb(env.DB);
    const now = Date.now();
    const base = {
      tenantId: "hot-conflict",
      id: newId("job", now),
      type: "test-echo",
      status: "queued",
      payload: "{}",
      maxAttempts: 3,
      options: "{}",
      runAt: now,
      createdAt: now,
      updatedAt: now,
      metadata: "{}",
    };
    const fresh = storedJobRow({ ...base, id: newId("job", now) });
    expect(await insertJobs(db, [storedJobRow(base)])).toEqual([true]);
    expect(await insertJobs(db, [storedJobRow({ ...base, payload: '{"second":true}' }), fresh])).toEqual([false, true]);
    const [read] = await db.select().from(jobs).where(eq(jobs.id, base.id));
    expect(read?.payload).toBe("{}");
  });

  it("answers a created job exactly as reading it back does", async () => {
    const { key } = await newTenant("hot-answer");
    const { queue } = capturingQueue(); // nothing is consumed: the jobs stay as enqueued
    const items = [
      { type: "test-echo", payload: { nested: { a: [1, "two", null] } } },
      { type: "test-echo", payload: { i: 2 }, delaySeconds: 30, maxAttempts: 7, metadata: { order: "o-2" } },
      { type: "test-echo", runAt: new Date(Date.now() + 86_400_000).toISOString(), idempotencyKey: "hot-k" },
      {
        type: "test-echo",
        payload: {},
        callbackUrl: "https://example.com/done",
        backoff: { type: "fixed", delaySeconds: 3 },
        timeoutSeconds: 20,
        flow: { key: "hot-flow", concurrency: 2 },
      },
    ];
    const res = await worker.fetch(
      new Request("http://x/v1/jobs/batch", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ jobs: items }),
      }),
      { ...env, JOBS_QUEUE: queue },
      createExecutionContext(),
    );
    expect(res.status).toBe(202);
    const answered = ((await res.json()) as { jobs: { id: string }[] }).jobs;
    expect(answered).toHaveLength(items.length);
    for (const job of answered) {
      const read = await call<Record<string, unknown>>("GET", `/v1/jobs/${job.id}`, { token: key });
      // The detail's own additions (attempt log, workflow steps) are not part of the Job answer.
      const { attemptLog: _log, steps: _steps, ...stored } = read.body;
      // Byte for byte, key order included.
      expect(JSON.stringify(job)).toBe(JSON.stringify(stored));
    }
  });
});
