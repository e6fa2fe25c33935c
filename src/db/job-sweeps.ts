// Bulk job statements for the tick: release due delayed jobs, mark rescued ones (pruning: tenant-sweeps.ts).
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { type JobRow, jobs } from "./schema";

export type ReleasedJob = Pick<JobRow, "tenantId" | "id" | "runAt" | "queue">;

/**
 * Moves up to `limit` scheduled jobs due by `until` to queued in one statement, oldest first, through
 * the jobs_scheduled_due index. RETURNING answers only the rows this statement changed, so two
 * overlapping ticks never both send a message for the same job.
 */
export async function releaseDueScheduled(db: Db, until: number, limit: number, now: number): Promise<ReleasedJob[]> {
  return db
    .update(jobs)
    .set({ status: "queued", updatedAt: now, outbox: 1 })
    .where(
      and(
        eq(jobs.status, "scheduled"),
        sql`(${jobs.tenantId}, ${jobs.id}) IN (SELECT tenant_id, id FROM jobs WHERE status = 'scheduled' AND run_at <= ${until} ORDER BY run_at LIMIT ${limit})`,
      ),
    )
    .returning({ tenantId: jobs.tenantId, id: jobs.id, runAt: jobs.runAt, queue: jobs.queue });
}

/**
 * Wakes up to `limit` parked workflow jobs (status waiting) in one statement, through jobs_waiting_due: those the
 * tick must wake (watched, outbox = 1: their wake was too far for a queue delay) due by `until`, and any whose
 * wake message is overdue (due before `overdueBefore`: it was lost). Back to queued, watched by the outbox index.
 */
export async function releaseDueWaiting(
  db: Db,
  until: number,
  overdueBefore: number,
  limit: number,
  now: number,
): Promise<ReleasedJob[]> {
  return db
    .update(jobs)
    .set({ status: "queued", updatedAt: now, outbox: 1, waitingFor: null })
    .where(
      and(
        eq(jobs.status, "waiting"),
        sql`(${jobs.tenantId}, ${jobs.id}) IN (SELECT tenant_id, id FROM jobs WHERE status = 'waiting' AND run_at <= ${until} AND (outbox = 1 OR run_at <= ${overdueBefore}) ORDER BY run_at LIMIT ${limit})`,
      ),
    )
    .returning({ tenantId: jobs.tenantId, id: jobs.id, runAt: jobs.runAt, queue: jobs.queue });
}

/** (tenant, id) pairs as one JSON parameter: any number of rows, one statement, one bound parameter. */
export const keysJson = (rows: Pick<JobRow, "tenantId" | "id">[]) =>
  JSON.stringify(rows.map((r) => [r.tenantId, r.id]));
export const KEY_IN =
  "(tenant_id, id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1))";

/**
 * Re-sent rows get a new runAt (so the next tick gives their message another grace period) and are
 * watched through the outbox index. One statement for all of them; answers the rows it changed.
 */
export const markResentStatement = (d1: D1Database, rows: Pick<JobRow, "tenantId" | "id">[], now: number) =>
  d1
    .prepare(
      `UPDATE jobs SET run_at = ?2, updated_at = ?2, outbox = 1
       WHERE ${KEY_IN} AND status IN ('queued', 'running', 'retrying') AND paused = 0
       RETURNING tenant_id AS tenantId, id, queue`,
    )
    .bind(keysJson(rows), now);
