// Completion callback state queries: the jobs.callback_state column and nothing else.
import { and, eq, isNotNull, sql } from "drizzle-orm";
import type { Db } from "./client";
import { jobs } from "./schema";

/**
 * Marks a callback pending. Rides in the consumer's outcome batch and only lands when that batch's
 * outcome write did: same final status and the same finishedAt.
 */
export const markCallbackPendingStatement = (
  db: Db,
  tenant: string,
  id: string,
  status: "succeeded" | "dead",
  finishedAt: number,
  state: string,
) =>
  db
    .update(jobs)
    .set({ callbackState: state })
    .where(
      and(
        eq(jobs.tenantId, tenant),
        eq(jobs.id, id),
        eq(jobs.status, status),
        eq(jobs.finishedAt, finishedAt),
        isNotNull(jobs.callbackUrl),
      ),
    );

/** Records an attempt, unless a newer delivery (another webhook-id) has taken the column over meanwhile. */
export const saveCallbackStateStatement = (db: Db, tenant: string, id: string, webhookId: string, state: string) =>
  db
    .update(jobs)
    .set({ callbackState: state })
    .where(
      and(
        eq(jobs.tenantId, tenant),
        eq(jobs.id, id),
        sql`json_extract(${jobs.callbackState}, '$.webhookId') = ${webhookId}`,
      ),
    );
