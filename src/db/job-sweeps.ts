// Bulk job statements for the tick: release due delayed jobs, mark rescued ones, prune by retention.
import { and, eq, inArray, lt, or, sql } from "drizzle-orm";
import { idFloor } from "../jobs/ids";
import type { Db } from "./client";
import type { Statement } from "./jobs";
import { type JobRow, jobs } from "./schema";

/** D1 allows 100 bound parameters per statement; the update binds 7 besides the ids. */
const IDS_PER_STATEMENT = 90;

export type ReleasedJob = Pick<JobRow, "tenantId" | "id" | "runAt">;

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
    .returning({ tenantId: jobs.tenantId, id: jobs.id, runAt: jobs.runAt });
}

/**
 * Re-sent rows get a new runAt (so the next tick gives their message another grace period) and are
 * watched through the outbox index. One statement per tenant per 90 ids, not one per row.
 */
export function markResentStatements(db: Db, rows: Pick<JobRow, "tenantId" | "id">[], now: number): Statement[] {
  const byTenant = new Map<string, string[]>();
  for (const row of rows) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.id]);
  const statements: Statement[] = [];
  for (const [tenant, ids] of byTenant) {
    for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
      statements.push(
        db
          .update(jobs)
          .set({ runAt: now, updatedAt: now, outbox: 1 })
          .where(
            and(
              eq(jobs.tenantId, tenant),
              inArray(jobs.id, ids.slice(i, i + IDS_PER_STATEMENT)),
              inArray(jobs.status, ["queued", "running", "retrying"]),
            ),
          )
          .returning({ tenantId: jobs.tenantId, id: jobs.id }),
      );
    }
  }
  return statements;
}

/**
 * Deletes up to `limit` of a tenant's finished jobs: succeeded or cancelled before `finishedBefore`,
 * dead before `deadBefore`. Ids are time-sortable, so the primary key range `id < idFloor(…)` narrows
 * the scan to rows created before the later cutoff without any extra index.
 */
export function pruneStatement(db: Db, tenant: string, finishedBefore: number, deadBefore: number, limit: number) {
  const createdBefore = idFloor("job", Math.max(finishedBefore, deadBefore));
  const old = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        eq(jobs.tenantId, tenant),
        lt(jobs.id, createdBefore),
        or(
          and(inArray(jobs.status, ["succeeded", "cancelled"]), lt(jobs.finishedAt, finishedBefore)),
          and(eq(jobs.status, "dead"), lt(jobs.finishedAt, deadBefore)),
        ),
      ),
    )
    .limit(limit);
  return db
    .delete(jobs)
    .where(and(eq(jobs.tenantId, tenant), inArray(jobs.id, old)))
    .returning({ id: jobs.id });
}
