// Job queries and transitions: the only place that knows how jobs are stored.
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import {
  type AttemptLogEntry,
  FINISHED_STATUSES,
  type Job,
  type JobError,
  type JobOptions,
  type JobStatus,
} from "../contract/job";
import { RETRYABLE_BY_HAND } from "../core/state";
import type { WaitingFor } from "../core/steps";
import type { Db } from "./client";
import { type JobRow, jobSteps, jobs } from "./schema";

export type NewJob = typeof jobs.$inferInsert;
type Statement = BatchItem<"sqlite">;

const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());
const parse = <T>(text: string | null, fallback: T): T => (text == null ? fallback : (JSON.parse(text) as T));

export function rowToJob(row: JobRow): Job {
  const options = parse<JobOptions>(row.options, { backoff: { type: "fixed", delaySeconds: 0 }, timeoutSeconds: 0 });
  return {
    id: row.id,
    type: row.type,
    status: row.status as JobStatus,
    payload: parse(row.payload, {}),
    result: parse(row.result, null),
    error: parse<JobError | null>(row.error, null),
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    progress: row.progress,
    runAt: iso(row.runAt) as string,
    createdAt: iso(row.createdAt) as string,
    updatedAt: iso(row.updatedAt) as string,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    idempotencyKey: row.idempotencyKey,
    flow: options.flow ?? null,
    callbackUrl: row.callbackUrl,
    callback: parse<Job["callback"]>(row.callbackState, null),
    metadata: parse(row.metadata, {}),
    queue: row.queue,
    batchId: row.batchId,
    parentId: row.parentId,
    waitingFor: parse<WaitingFor | null>(row.waitingFor, null),
  };
}

export const attemptLogOf = (row: JobRow) => parse<AttemptLogEntry[]>(row.attemptLog, []);

const byKey = (tenant: string, id: string) => and(eq(jobs.tenantId, tenant), eq(jobs.id, id));

export const insertJob = (db: Db, row: NewJob) => db.insert(jobs).values(row);

export async function getJob(db: Db, tenant: string, id: string): Promise<JobRow | undefined> {
  return db.select().from(jobs).where(byKey(tenant, id)).get();
}

export type ListFilter = { status?: JobStatus; type?: string; batchId?: string; limit: number; cursor?: string };

/** Newest first; the cursor is the last id of the previous page. Reads limit + 1 to know if more follow. */
export async function listJobs(db: Db, tenant: string, filter: ListFilter): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.tenantId, tenant),
        filter.status ? eq(jobs.status, filter.status) : undefined,
        filter.type ? eq(jobs.type, filter.type) : undefined,
        // Served by jobs_batch (tenant, batch, id), newest first.
        filter.batchId ? eq(jobs.batchId, filter.batchId) : undefined,
        filter.cursor ? lt(jobs.id, filter.cursor) : undefined,
      ),
    )
    .orderBy(desc(jobs.id))
    .limit(filter.limit + 1);
}

/** What a requeue by hand writes: a fresh attempt count, watched by the outbox index until its message is consumed. */
const requeuedColumns = (now: number) => ({
  status: "queued",
  attempts: 0,
  error: null,
  result: null,
  progress: null,
  attemptLog: "[]",
  runAt: now,
  updatedAt: now,
  startedAt: null,
  finishedAt: null,
  leaseUntil: null,
  outbox: 1,
  // A run still going from before this requeue can no longer land its outcome (see jobs.runToken).
  runToken: sql`${jobs.runToken} + 1`,
});

/**
 * Ids bound as one JSON parameter: a list of any length stays one statement under D1's 100 bound
 * parameters (an IN list would bind one per id and break past 86 ids here).
 */
const idIn = (ids: string[]) => sql`${jobs.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/** Back to queued with a fresh attempt count, from one of the `from` states. */
export const requeueByHandStatement = (
  db: Db,
  tenant: string,
  ids: string[],
  now: number,
  from: readonly JobStatus[] = RETRYABLE_BY_HAND,
) =>
  db
    .update(jobs)
    .set(requeuedColumns(now))
    .where(and(eq(jobs.tenantId, tenant), idIn(ids), inArray(jobs.status, [...from])))
    .returning();

/**
 * Requeues up to `limit` of a tenant's dead jobs (of one type, or all), newest first, in one statement
 * that binds no id at all: the ids come from the jobs_dead_lane index inside D1. Answers only what a message needs.
 */
export const requeueDeadStatement = (db: Db, tenant: string, type: string | undefined, limit: number, now: number) =>
  db
    .update(jobs)
    .set(requeuedColumns(now))
    .where(
      and(
        eq(jobs.tenantId, tenant),
        eq(jobs.status, "dead"),
        inArray(
          jobs.id,
          db
            .select({ id: jobs.id })
            .from(jobs)
            .where(and(eq(jobs.tenantId, tenant), eq(jobs.status, "dead"), type ? eq(jobs.type, type) : undefined))
            .orderBy(desc(jobs.id))
            .limit(limit),
        ),
      ),
    )
    .returning({ tenantId: jobs.tenantId, id: jobs.id, runAt: jobs.runAt, queue: jobs.queue });

/**
 * Deletes a finished job, unless its batch is still running: a batch recounts its jobs from their rows, so a
 * deleted one would leave it unfinished forever.
 */
export async function deleteFinishedJob(db: Db, tenant: string, id: string): Promise<boolean> {
  const [deleted] = await db.batch([
    db
      .delete(jobs)
      .where(
        and(
          byKey(tenant, id),
          inArray(jobs.status, [...FINISHED_STATUSES]),
          sql`(${jobs.batchId} IS NULL OR NOT EXISTS (SELECT 1 FROM batches b WHERE b.tenant_id = ${jobs.tenantId} AND b.id = ${jobs.batchId} AND b.status = 'running'))`,
        ),
      )
      .returning({ id: jobs.id }),
    // Its workflow steps go with it (only if the row is gone): an id re-created later must not replay them.
    db
      .delete(jobSteps)
      .where(
        and(
          eq(jobSteps.tenantId, tenant),
          eq(jobSteps.jobId, id),
          sql`NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = ${tenant} AND j.id = ${id})`,
        ),
      ),
  ]);
  return deleted.length > 0;
}

export async function listDead(db: Db, tenant: string, filter: Omit<ListFilter, "status">) {
  return listJobs(db, tenant, { ...filter, status: "dead" });
}

// ---- consumer ----

/** D1 allows 100 bound parameters per statement; one tenant parameter leaves room for 98 ids. */
const IDS_PER_STATEMENT = 98;

/** One round trip: a SELECT per tenant (per 98 ids) in one batch. */
export async function loadJobs(db: Db, keys: { tenant: string; id: string }[]): Promise<JobRow[]> {
  const byTenant = new Map<string, string[]>();
  for (const k of keys) byTenant.set(k.tenant, [...(byTenant.get(k.tenant) ?? []), k.id]);
  const selects: Statement[] = [];
  for (const [tenant, ids] of byTenant) {
    for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
      const chunk = ids.slice(i, i + IDS_PER_STATEMENT);
      selects.push(
        db
          .select()
          .from(jobs)
          .where(and(eq(jobs.tenantId, tenant), inArray(jobs.id, chunk))),
      );
    }
  }
  if (selects.length === 0) return [];
  const results = (await db.batch(selects as [Statement, ...Statement[]])) as JobRow[][];
  return results.flat();
}

// The consumer's hot statements (claim, outcomes, dead letters) are prepared once in ./consumer-statements.ts.

export type { Statement };
