// The tick's outbox rescue: re-send messages for queued rows whose message was lost (the row committed, the send failed).
import type { Db } from "../db/client";
import { markResentStatements } from "../db/job-sweeps";
import { findStrandedFresh, findStrandedWatched, type Statement } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { describeError } from "../jobs/errors";
import type { Logger } from "../jobs/logger";
import type { JobMessage } from "../jobs/types";
import { RESCUE_WINDOW_MS, sendMessages } from "../queue/producer";
import { callbackMessage } from "../webhooks/callbacks";

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
  const all = dedupe([...fresh, ...watched]);
  // Finished jobs in the list are there for their callback: re-send its message (same webhook-id).
  const isFinished = (row: JobRow) => row.status === "succeeded" || row.status === "dead";
  const callbacks = all.filter(isFinished);
  const callbackFailures = await resendCallbacks(queue, callbacks, log);
  const stranded = all.filter((row) => !isFinished(row));
  if (stranded.length === 0) return { rescued: callbacks.length - callbackFailures, sendFailures: callbackFailures };
  // Re-sent rows keep their state; the consumer's claim makes a duplicate delivery harmless.
  const results = await db.batch(markResentStatements(db, stranded, now) as [Statement, ...Statement[]]);
  const marked = (results as Pick<JobRow, "tenantId" | "id">[][]).flat().map((row) => ({ ...row, runAt: now }));
  const sendFailures = await sendMessages(queue, marked, now, log);
  return {
    rescued: marked.length - sendFailures + callbacks.length - callbackFailures,
    sendFailures: sendFailures + callbackFailures,
  };
}

async function resendCallbacks(queue: Queue<JobMessage>, rows: JobRow[], log: Logger): Promise<number> {
  if (rows.length === 0) return 0;
  const messages = rows.map((row) => ({ body: callbackMessage(row) }));
  try {
    for (let i = 0; i < messages.length; i += 100) await (queue as Queue).sendBatch(messages.slice(i, i + 100));
    log.info("callback messages re-sent", { jobIds: rows.map((r) => r.id) });
    return 0;
  } catch (err) {
    log.warn("callback re-send failed; the next tick tries again", { error: describeError(err).message });
    return rows.length;
  }
}

function dedupe(rows: JobRow[]): JobRow[] {
  const seen = new Map<string, JobRow>();
  for (const row of rows) seen.set(`${row.tenantId}/${row.id}`, row);
  return [...seen.values()];
}
