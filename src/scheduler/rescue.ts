// The tick's outbox rescue: re-send messages for queued rows whose message was lost (the row committed, the send failed).
import type { Db } from "../db/client";
import { markResentStatements } from "../db/job-sweeps";
import { findStrandedFresh, findStrandedWatched, type Statement } from "../db/jobs";
import type { JobRow } from "../db/schema";
import type { Logger } from "../jobs/logger";
import type { JobMessage } from "../jobs/types";
import { RESCUE_WINDOW_MS, sendMessages } from "../queue/producer";

/** Stranded rows looked at per query per tick; more wait for the next tick. */
export const RESCUE_PAGE = 500;

export async function rescueStranded(
  db: Db,
  queue: Queue<JobMessage>,
  log: Logger,
  tenants: string[],
  now: number,
  graceMs: number,
): Promise<{ rescued: number; sendFailures: number }> {
  const fresh = (
    await Promise.all(tenants.map((t) => findStrandedFresh(db, t, now, RESCUE_WINDOW_MS, graceMs, RESCUE_PAGE)))
  ).flat();
  const watched = await findStrandedWatched(db, now, graceMs, RESCUE_PAGE);
  const stranded = dedupe([...fresh, ...watched]);
  if (stranded.length === 0) return { rescued: 0, sendFailures: 0 };
  // Re-sent rows keep their state; the consumer's claim makes a duplicate delivery harmless.
  const results = await db.batch(markResentStatements(db, stranded, now) as [Statement, ...Statement[]]);
  const marked = (results as Pick<JobRow, "tenantId" | "id">[][]).flat().map((row) => ({ ...row, runAt: now }));
  const sendFailures = await sendMessages(queue, marked, now, log);
  return { rescued: marked.length - sendFailures, sendFailures };
}

function dedupe(rows: JobRow[]): JobRow[] {
  const seen = new Map<string, JobRow>();
  for (const row of rows) seen.set(`${row.tenantId}/${row.id}`, row);
  return [...seen.values()];
}
