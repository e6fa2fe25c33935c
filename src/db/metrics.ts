// Metrics queries: the cheap reads behind /v1/metrics (indexes and bounded ranges only); the counter upserts are in ./counters.ts.
import { and, eq, gte } from "drizzle-orm";
import { idFloor } from "../core/ids";
import { parseBuckets } from "../metrics/buckets";
import type { JobState, MinuteRow, StateCount } from "../metrics/snapshot";
import type { Db } from "./client";
import { metricsMinute } from "./schema";

/** A tenant's counter rows from `fromMinute` on: a primary-key range read, one row per type per minute. */
export async function readMinuteRows(db: Db, tenant: string, fromMinute: number): Promise<MinuteRow[]> {
  const rows = await db
    .select()
    .from(metricsMinute)
    .where(and(eq(metricsMinute.tenantId, tenant), gte(metricsMinute.minute, fromMinute)));
  return rows.map((row) => ({
    minute: row.minute,
    type: row.type,
    started: row.started,
    succeeded: row.succeeded,
    failed: row.failed,
    dead: row.dead,
    deferred: row.deferred,
    durationMsSum: row.durationMsSum,
    buckets: parseBuckets(row.durationBuckets),
  }));
}

export type StateReadOptions = {
  now: number;
  /** Queued and running jobs are counted among the ids created this far back (plus the watched ones). */
  windowMs: number;
  /** No count reads more than this many rows; past it the count stops there. */
  cap: number;
};

type CountRow = { type: string; queue: string; state: JobState; count: number; oldest_at: number | null };

/**
 * Every state count in one round trip, each from an index or a bounded range, never a scan of
 * the tenant's jobs: dead, retrying, scheduled and waiting through their tenant-first partial indexes (INDEXED BY makes
 * a plan without the index an error instead of a silent scan); queued and running from the last
 * `windowMs` of ids (the primary key is (tenant, time-sortable id)) plus the outbox-watched older ones.
 */
export async function readStateCounts(
  d1: D1Database,
  tenant: string,
  options: StateReadOptions,
): Promise<StateCount[]> {
  const { now, cap } = options;
  const floor = idFloor("job", now - options.windowMs);
  // The status is a literal, not a parameter: SQLite only uses a partial index when the query's terms match its WHERE.
  const byIndex = (index: string, state: "dead" | "retrying" | "scheduled" | "waiting") =>
    d1
      .prepare(
        `SELECT type, queue, '${state}' AS state, count(*) AS count, NULL AS oldest_at FROM (
           SELECT type, queue FROM jobs INDEXED BY ${index} WHERE status = '${state}' AND tenant_id = ?1 LIMIT ?2
         ) GROUP BY type, queue`,
      )
      .bind(tenant, cap);
  const liveState = "CASE WHEN status = 'running' THEN 'running' WHEN run_at <= ?3 THEN 'ready' ELSE 'delayed' END";
  const recent = d1
    .prepare(
      `SELECT type, queue, ${liveState} AS state, count(*) AS count, min(run_at) AS oldest_at FROM (
         SELECT type, queue, status, run_at FROM jobs WHERE tenant_id = ?1 AND id >= ?2 ORDER BY id LIMIT ?4
       ) WHERE status IN ('queued', 'running') GROUP BY 1, 2, 3`,
    )
    .bind(tenant, floor, now, cap);
  const watched = d1
    .prepare(
      `SELECT type, queue, ${liveState} AS state, count(*) AS count, min(run_at) AS oldest_at FROM (
         SELECT type, queue, status, run_at FROM jobs INDEXED BY jobs_outbox
         WHERE outbox = 1 AND status IN ('queued', 'running') AND tenant_id = ?1 AND id < ?2 LIMIT ?4
       ) GROUP BY 1, 2, 3`,
    )
    .bind(tenant, floor, now, cap);
  const results = await d1.batch<CountRow>([
    byIndex("jobs_dead_lane", "dead"),
    byIndex("jobs_retrying", "retrying"),
    byIndex("jobs_scheduled_tenant", "scheduled"),
    byIndex("jobs_waiting_tenant", "waiting"),
    recent,
    watched,
  ]);
  return results.flatMap((result) =>
    result.results.map((row) => ({
      type: row.type,
      queue: row.queue,
      state: row.state,
      count: Number(row.count),
      oldestAt: row.oldest_at == null ? null : Number(row.oldest_at),
    })),
  );
}
