// Completion callback state queries: the jobs.callback_state column and nothing else.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { KEY_IN, keysJson } from "./job-sweeps";
import { type JobRow, jobs } from "./schema";

/**
 * Records an attempt, unless a newer delivery (another webhook-id) has taken the column over meanwhile.
 * `watched`: the callback is still pending and its next attempt falls past the fresh-id rescue window, so
 * the finished row is flagged for the rescue (outbox = 1); a delivery that is over clears the flag. A job
 * queued again by hand keeps its own flag.
 */
export const saveCallbackStateStatement = (
  db: Db,
  tenant: string,
  id: string,
  webhookId: string,
  state: string,
  watched: boolean,
) =>
  db
    .update(jobs)
    .set({
      callbackState: state,
      outbox: sql`CASE WHEN ${jobs.status} IN ('succeeded', 'dead') THEN ${watched ? 1 : 0} ELSE ${jobs.outbox} END`,
    })
    .where(
      and(
        eq(jobs.tenantId, tenant),
        eq(jobs.id, id),
        sql`json_extract(${jobs.callbackState}, '$.webhookId') = ${webhookId}`,
      ),
    );

/**
 * Flags finished jobs whose pending callback the rescue must find whatever the age of their ids: re-sent
 * by the tick, or dead-lettered by the queue. Bound as one JSON parameter, any number of rows.
 */
export const watchCallbacksStatement = (d1: D1Database, rows: Pick<JobRow, "tenantId" | "id">[]) =>
  d1
    .prepare(
      `UPDATE jobs SET outbox = 1 WHERE ${KEY_IN} AND status IN ('succeeded', 'dead')
       AND json_extract(callback_state, '$.status') = 'pending'`,
    )
    .bind(keysJson(rows));
