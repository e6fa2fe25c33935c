// /v1/metrics and /metrics over the real queue, consumer and D1: values match a known workload.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids";
import { openDb } from "../../src/db/client";
import { counterUpserts } from "../../src/db/counters";
import { insertJob, type NewJob } from "../../src/db/jobs";
import { readStateCounts } from "../../src/db/metrics";
import { meterD1 } from "../../src/metering/d1";
import type { TypeMetrics } from "../../src/metrics/snapshot";
import { createTally, minuteOf } from "../../src/metrics/tally";
import { readQueueBacklog } from "../../src/service/read-metrics";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { type SeedJob, seedJobs } from "../fixtures/seed";

type Metrics = TypeMetrics & { windowMinutes: number; byType: Record<string, TypeMetrics>; queue: unknown };

async function metrics(key: string): Promise<Metrics> {
  const res = await call<Metrics>("GET", "/v1/metrics", { token: key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function prometheus(key: string): Promise<string> {
  const res = await exportsFetch("/metrics", key);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  return res.text();
}

async function exportsFetch(path: string, key: string) {
  const { exports } = await import("cloudflare:workers");
  return exports.default.fetch(
    new Request(`http://edge-jobs.test${path}`, { headers: { authorization: `Bearer ${key}` } }),
  );
}

/** The value of one Prometheus sample whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-z_:]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** A job row written straight to D1 with no queue message: the state a lost message or a busy queue leaves. */
function strandedRow(tenant: string, status: string, createdAt: number, extra: Partial<NewJob> = {}): NewJob {
  return {
    tenantId: tenant,
    id: newId("job", createdAt),
    type: "test-echo",
    status,
    payload: "{}",
    attempts: 0,
    maxAttempts: 5,
    options: JSON.stringify({ backoff: { type: "fixed", delaySeconds: 0 }, timeoutSeconds: 60 }),
    runAt: createdAt,
    createdAt,
    updatedAt: createdAt,
    metadata: "{}",
    ...extra,
  };
}

describe("metrics", () => {
  it("match a known workload: n succeeded, m dead, k retried", async () => {
    const { key, tenant } = await newTenant("metrics");
    const n = 3;
    const flakyJobs = 2; // each fails once (k = 2 retries), then succeeds
    const m = 2;
    const jobs = [
      ...(await Promise.all(
        Array.from({ length: n }, (_, i) => enqueue(key, { type: "test-echo", payload: { value: i } })),
      )),
      ...(await Promise.all(
        Array.from({ length: flakyJobs }, () => enqueue(key, { type: "test-flaky", payload: { failTimes: 1 } })),
      )),
      ...(await Promise.all(Array.from({ length: m }, () => enqueue(key, { type: "test-poison", payload: {} })))),
    ];
    // Waiting jobs: one held by the queue's delay, one past the queue's 12 h limit (a scheduled row).
    await enqueue(key, { type: "test-echo", payload: {}, delaySeconds: 600 });
    await enqueue(key, { type: "test-echo", payload: {}, delaySeconds: 13 * 3600 });
    for (const job of jobs) await waitForStatus(key, job.id, ["succeeded", "dead"]);

    const body = await metrics(key);
    const succeeded = n + flakyJobs;
    const k = flakyJobs;
    expect(body).toMatchObject({
      depth: 0,
      running: 0,
      retrying: 0,
      dead: m,
      scheduled: 2,
      windowMinutes: 15,
      window: { started: succeeded + k + m, succeeded, failed: k, dead: m, deferred: 0 },
    });
    expect(body.throughputPerMinute).toBeCloseTo((succeeded + m) / 15, 3);
    expect(body.retryRate).toBeCloseTo(k / (succeeded + k + m), 4);
    expect(body.failureRate).toBeCloseTo(m / (succeeded + m), 4);
    expect(body.durationMs.p50).not.toBeNull();
    expect(body.byType["test-flaky"]).toMatchObject({
      window: { started: 4, succeeded: 2, failed: 2, dead: 0, deferred: 0 },
      retryRate: 0.5,
      failureRate: 0,
    });
    expect(body.byType["test-poison"]).toMatchObject({ dead: m, failureRate: 1, window: { dead: m, started: m } });
    expect(body.byType["test-echo"]).toMatchObject({ scheduled: 2, dead: 0, window: { succeeded: n } });

    // The Prometheus text carries the same numbers, per tenant and per type.
    const text = await prometheus(key);
    expect(sample(text, "edge_jobs_dead", { tenant })).toBe(m);
    expect(sample(text, "edge_jobs_scheduled", { tenant })).toBe(2);
    expect(sample(text, "edge_jobs_window_events", { tenant, event: "succeeded" })).toBe(succeeded);
    expect(sample(text, "edge_jobs_window_events", { tenant, event: "failed" })).toBe(k);
    expect(sample(text, "edge_jobs_type_dead", { tenant, type: "test-poison" })).toBe(m);
    expect(sample(text, "edge_jobs_retry_rate", { tenant })).toBe(body.retryRate);

    // Another tenant sees none of it.
    const other = await newTenant("metrics-other");
    expect(await metrics(other.key)).toMatchObject({ dead: 0, scheduled: 0, window: { started: 0 }, byType: {} });
  });

  it("estimate p50 and p95 from the duration buckets", async () => {
    const { key } = await newTenant("metrics-durations");
    // 300 ms falls in the (250, 500] bucket; the echo job in the first one, (0, 10].
    const slow = await Promise.all(
      Array.from({ length: 4 }, () => enqueue(key, { type: "test-sleep", payload: { ms: 300 } })),
    );
    for (const job of slow) expect((await waitForStatus(key, job.id, ["succeeded", "dead"])).status).toBe("succeeded");
    const body = await metrics(key);
    const { p50, p95 } = body.durationMs;
    expect(p50).toBeGreaterThan(250);
    expect(p50).toBeLessThanOrEqual(500);
    expect(p95).toBeGreaterThanOrEqual(p50 as number);
    expect(p95).toBeLessThanOrEqual(500);
  });

  it("count flow-control deferrals apart from attempts", async () => {
    const { key } = await newTenant("metrics-deferred");
    const flow = { key: "one-at-a-time", concurrency: 1 };
    const jobs = await Promise.all(
      Array.from({ length: 3 }, () => enqueue(key, { type: "test-sleep", payload: { ms: 300 }, flow })),
    );
    for (const job of jobs) expect((await waitForStatus(key, job.id, ["succeeded", "dead"])).status).toBe("succeeded");
    const body = await metrics(key);
    // Three attempts ran; the jobs that found the slot taken waited, and waiting is not an attempt.
    expect(body.window).toMatchObject({ started: 3, succeeded: 3, failed: 0, dead: 0 });
    expect(body.window.deferred).toBeGreaterThanOrEqual(1);
    expect(body.retryRate).toBe(0);
  });

  it("count depth, oldest age and running from recent ids and watched rows", async () => {
    const { key, tenant } = await newTenant("metrics-depth");
    const db = openDb(env.DB);
    const now = Date.now();
    const rows = [
      // Queued two minutes ago and never consumed: the depth, and the oldest age.
      strandedRow(tenant, "queued", now - 120_000),
      strandedRow(tenant, "queued", now - 30_000),
      // Created three hours ago, re-queued by hand: outside the recent window but watched by the outbox index.
      strandedRow(tenant, "queued", now - 3 * 3600_000, { runAt: now - 60_000, outbox: 1 }),
      strandedRow(tenant, "running", now - 10_000, { attempts: 1, leaseUntil: now + 60_000 }),
      strandedRow(tenant, "retrying", now - 10_000, { attempts: 1, runAt: now + 60_000 }),
      // Parked workflow jobs: one on a sleep, one (created hours ago, outside the recent window) on an event.
      strandedRow(tenant, "waiting", now - 10_000, {
        runAt: now + 60_000,
        waitingFor: JSON.stringify({ kind: "sleep", until: new Date(now + 60_000).toISOString() }),
      }),
      strandedRow(tenant, "waiting", now - 3 * 3600_000, {
        type: "test-sleep",
        runAt: now - 1_000,
        waitingFor: JSON.stringify({ kind: "event", event: "e", until: new Date(now - 1_000).toISOString() }),
      }),
    ];
    for (const row of rows) await insertJob(db, row).run();

    const body = await metrics(key);
    // A parked job is neither depth nor running, even when its wake time is due (the tick releases it).
    expect(body).toMatchObject({ depth: 3, running: 1, retrying: 1, waiting: 2, scheduled: 0, dead: 0 });
    expect(body.oldestAgeSeconds).toBeGreaterThanOrEqual(120);
    expect(body.oldestAgeSeconds).toBeLessThan(180);
    expect(body.byType["test-echo"]).toMatchObject({ depth: 3, running: 1, retrying: 1, waiting: 1 });
    expect(body.byType["test-sleep"]).toMatchObject({ depth: 0, running: 0, waiting: 1 });

    const text = await prometheus(key);
    expect(sample(text, "edge_jobs_waiting", { tenant })).toBe(2);
    expect(sample(text, "edge_jobs_type_waiting", { tenant, type: "test-sleep" })).toBe(1);
    expect(sample(text, "edge_jobs_type_waiting", { tenant, type: "test-echo" })).toBe(1);
  });

  it("read a bounded number of rows for a small tenant beside a large one (tenant-first indexes)", async () => {
    const now = Date.now();
    const large = `metrics-large-${now.toString(36)}`;
    const small = `metrics-small-${now.toString(36)}`;
    const old = now - 3 * 3600_000;
    // 20,000 rows of another tenant in every indexed state: scheduled, watched (re-queued old ids), dead, retrying,
    // waiting (parked workflows).
    const states: SeedJob[] = [
      { tenantId: large, status: "scheduled", createdAt: old, runAt: now + 86_400_000 },
      { tenantId: large, status: "queued", createdAt: old, runAt: now - 60_000, outbox: 1 },
      { tenantId: large, status: "dead", createdAt: old, finishedAt: old },
      { tenantId: large, status: "retrying", createdAt: old, runAt: now + 60_000, attempts: 1 },
      { tenantId: large, status: "waiting", createdAt: old, runAt: now + 60_000 },
    ];
    await seedJobs(Array.from({ length: 20_000 }, (_, i) => states[i % 5] as SeedJob));
    await seedJobs([
      { tenantId: small, status: "scheduled", createdAt: old, runAt: now + 86_400_000 },
      { tenantId: small, status: "queued", createdAt: old, runAt: now - 60_000, outbox: 1 },
      { tenantId: small, status: "dead", createdAt: old, finishedAt: old },
      { tenantId: small, status: "waiting", createdAt: old, runAt: now + 60_000 },
    ]);
    const read = async (tenant: string) => {
      const { d1, usage } = meterD1(env.DB);
      const counts = await readStateCounts(d1, tenant, { now, windowMs: 3600_000, cap: 100_000 });
      return { counts, rowsRead: usage.rowsRead };
    };
    const smallRead = await read(small);
    expect(smallRead.counts.map((c) => [c.state, c.count]).sort()).toEqual([
      ["dead", 1],
      ["ready", 1],
      ["scheduled", 1],
      ["waiting", 1],
    ]);
    // Each count reads the small tenant's own index entries (and their rows), never the large tenant's.
    expect(smallRead.rowsRead).toBeLessThan(20);
    const largeRead = await read(large);
    expect(largeRead.counts.find((c) => c.state === "scheduled")?.count).toBe(4_000);
    expect(largeRead.counts.find((c) => c.state === "waiting")?.count).toBe(4_000);
    expect(largeRead.rowsRead).toBeGreaterThan(20_000);
  }, 60_000);

  it("answer the contract's errors without a tenant key", async () => {
    expect((await call("GET", "/v1/metrics")).status).toBe(401);
    expect((await call("GET", "/metrics")).status).toBe(401);
    const admin = await call<{ error: { code: string } }>("GET", "/v1/metrics", { token: "test-admin-token" });
    expect(admin.status).toBe(403);
    expect(admin.body.error.code).toBe("forbidden");
  });
});

describe("the metrics routes' edges", () => {
  it("are in the OpenAPI document", async () => {
    const doc = await call<{ paths: Record<string, unknown> }>("GET", "/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/v1/metrics", "/metrics"]));
  });

  it("read the queue's backlog only where the runtime offers it, and never wait long for it", async () => {
    expect(await readQueueBacklog({} as Queue)).toBeNull();
    const failing = { metrics: () => Promise.reject(new Error("not here")) } as unknown as Queue;
    expect(await readQueueBacklog(failing)).toBeNull();
    const slow = { metrics: () => new Promise(() => {}) } as unknown as Queue;
    const started = Date.now();
    expect(await readQueueBacklog(slow)).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    const oldest = new Date(Date.now() - 42_000);
    const real = { metrics: async () => ({ backlogCount: 9, backlogBytes: 1, oldestMessageTimestamp: oldest }) };
    expect(await readQueueBacklog(real as unknown as Queue)).toEqual({ messages: 9, oldestAt: oldest.getTime() });
    // The local runtime's own binding answers too.
    expect(await readQueueBacklog(env.JOBS_QUEUE)).toMatchObject({ messages: expect.any(Number) });
  });
});

describe("metrics counters in D1", () => {
  it("add up across batches in one row per (tenant, minute, type), one row written per upsert", async () => {
    const tenant = `counters-${Date.now().toString(36)}`;
    const minute = minuteOf(Date.now());
    const tally = createTally();
    tally.attempt(tenant, "a", "succeeded", 7);
    tally.attempt(tenant, "a", "failed", 300);
    tally.deadWithoutAttempt(tenant, "b");
    const written: number[] = [];
    for (let i = 0; i < 2; i++) {
      const results = await env.DB.batch(counterUpserts(env.DB, tally.entries(), minute));
      written.push(...results.map((r) => r.meta.rows_written));
    }
    const rows = await env.DB.prepare(
      "SELECT type, started, succeeded, failed, dead, duration_ms_sum, duration_buckets FROM metrics_minute WHERE tenant_id = ? ORDER BY type",
    )
      .bind(tenant)
      .all();
    expect(rows.results).toEqual([
      {
        type: "a",
        started: 4,
        succeeded: 2,
        failed: 2,
        dead: 0,
        duration_ms_sum: 614,
        duration_buckets: "[2,0,0,0,0,2,0,0,0,0,0,0]",
      },
      {
        type: "b",
        started: 0,
        succeeded: 0,
        failed: 0,
        dead: 2,
        duration_ms_sum: 0,
        duration_buckets: "[0,0,0,0,0,0,0,0,0,0,0,0]",
      },
    ]);
    console.info(JSON.stringify({ counterUpsertRowsWritten: written }));
    // WITHOUT ROWID and no secondary index: an insert or an update of a counter row writes one row.
    expect(written).toEqual([1, 1, 1, 1]);
  });
});
