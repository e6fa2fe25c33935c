// The debounce writes, made by the KeyGate of a (tenant, debounce key): a window's first job, and the replace of its job.
import { getTableColumns, getTableName } from "drizzle-orm";
import { openDb } from "./client";
import { prepared } from "./consumer-statements";
import { insertJobs } from "./job-insert";
import { type JobRow, jobs } from "./schema";

type JobColumn = keyof JobRow;
const columns = getTableColumns(jobs);
const col = (key: JobColumn) => `"${columns[key].name}"`;
const JOBS = `"${getTableName(jobs)}"`;
const RETURN_ROW = (Object.keys(columns) as JobColumn[]).map((key) => `${col(key)} AS "${key}"`).join(", ");

/**
 * ?1 tenant, ?2 id, ?3 type, ?4 payload, ?5 options, ?6 max attempts, ?7 metadata, ?8 callback url, ?9 run at,
 * ?10 status, ?11 watch (1: flag for the outbox index), ?12 now, ?13 lane (the window's message already sent stays
 * in its lane; later sends follow the row). The latest enqueue's request becomes the job as a
 * whole; its id and createdAt stay. Lands only while the job has not started (queued or scheduled, no attempt
 * claimed: a flow deferral or a paused type's hold keeps attempts at 0). Every replace bumps the run token, so a
 * delivery that read the row before it loses its claim (the consumer claims a debounced job before running it).
 */
const REPLACE = `UPDATE ${JOBS} SET ${col("type")} = ?3, ${col("payload")} = ?4, ${col("options")} = ?5,
  ${col("maxAttempts")} = ?6, ${col("metadata")} = ?7, ${col("callbackUrl")} = ?8, ${col("runAt")} = ?9,
  ${col("status")} = ?10, ${col("outbox")} = CASE WHEN ?11 = 1 THEN 1 ELSE ${col("outbox")} END,
  ${col("runToken")} = ${col("runToken")} + 1, ${col("updatedAt")} = ?12, ${col("queue")} = ?13
  WHERE ${col("tenantId")} = ?1 AND ${col("id")} = ?2 AND ${col("status")} IN ('queued', 'scheduled')
  AND ${col("attempts")} = 0
  RETURNING ${RETURN_ROW}`;

export type Replacement = {
  tenant: string;
  jobId: string;
  /** The request's row as planned (its own id is not used): type, payload, options, … */
  row: JobRow;
  runAt: number;
  status: "queued" | "scheduled";
  outbox: 0 | 1;
  now: number;
};

/** The replaced job as stored, or null when the job has started, finished, or is gone (the window is over). */
export async function replaceDebouncedJob(d1: D1Database, r: Replacement): Promise<JobRow | null> {
  const { row } = r;
  const result = await prepared(d1, REPLACE)
    .bind(
      r.tenant,
      r.jobId,
      row.type,
      row.payload,
      row.options,
      row.maxAttempts,
      row.metadata,
      row.callbackUrl,
      r.runAt,
      r.status,
      r.outbox,
      r.now,
      row.queue,
    )
    .all<JobRow>();
  return result.results[0] ?? null;
}

/** A new window's job: the plain insert of one row (its id is fresh, so it is always created). */
export async function insertDebouncedJob(d1: D1Database, row: JobRow): Promise<boolean> {
  const [created] = await insertJobs(openDb(d1), [row]);
  return created === true;
}

/**
 * Whether the window's job has not started yet: the replace's own condition (queued or scheduled, no attempt claimed).
 * False when it has started, finished, or is gone.
 */
export async function debouncedJobUnstarted(d1: D1Database, tenant: string, jobId: string): Promise<boolean> {
  const row = await prepared(
    d1,
    `SELECT 1 AS unstarted FROM ${JOBS} WHERE ${col("tenantId")} = ?1 AND ${col("id")} = ?2
      AND ${col("status")} IN ('queued', 'scheduled') AND ${col("attempts")} = 0`,
  )
    .bind(tenant, jobId)
    .first<{ unstarted: number }>();
  return row !== null;
}

/**
 * Takes back the rows a request created when its debounced part failed: only rows still as created (unstarted, run
 * token 0, so no replace or requeue touched them). Answers how many went.
 */
export async function deleteCreatedJobs(d1: D1Database, tenant: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await prepared(
    d1,
    `DELETE FROM ${JOBS} WHERE ${col("tenantId")} = ?1 AND ${col("id")} IN (SELECT value FROM json_each(?2))
      AND ${col("status")} IN ('queued', 'scheduled') AND ${col("attempts")} = 0 AND ${col("runToken")} = 0`,
  )
    .bind(tenant, JSON.stringify(ids))
    .run();
  return result.meta.changes ?? 0;
}
