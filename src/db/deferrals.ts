// Flow-control deferrals: the job waits without spending an attempt; its row says when it comes back and why.
import { and, eq, inArray } from "drizzle-orm";
import type { AttemptLogEntry } from "../jobs/types";
import type { Db } from "./client";
import { type JobRow, jobs } from "./schema";

/** Older deferral entries are dropped past this many, so a long wait cannot grow the row without bound. */
const MAX_DEFERRAL_ENTRIES = 10;

/** The attempt log with one more deferral entry, keeping only the latest deferrals. */
export function withDeferral(log: AttemptLogEntry[], entry: AttemptLogEntry): AttemptLogEntry[] {
  const next = [...log, entry];
  let surplus = next.filter((e) => e.outcome === "deferred").length - MAX_DEFERRAL_ENTRIES;
  return next.filter((e) => !(e.outcome === "deferred" && surplus-- > 0));
}

/**
 * Moves runAt to when the job comes back, so the tick's outbox rescue does not take a long wait for
 * a lost message. The status stays (queued or retrying). One row written, no index row for a fresh job.
 */
export const deferStatement = (db: Db, row: JobRow, attemptLog: string, runAt: number, now: number) =>
  db
    .update(jobs)
    .set({ runAt, attemptLog, updatedAt: now })
    .where(and(eq(jobs.tenantId, row.tenantId), eq(jobs.id, row.id), inArray(jobs.status, ["queued", "retrying"])));
