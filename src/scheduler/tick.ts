// The every-minute tick: release due delayed jobs into the queue and re-send messages that were lost.
import { listTenants } from "../db/api-keys";
import { openDb } from "../db/client";
import {
  findDueScheduled,
  findStrandedFresh,
  findStrandedWatched,
  markResentStatement,
  releaseScheduledStatement,
  type Statement,
} from "../db/jobs";
import type { JobRow } from "../db/schema";
import { log } from "../jobs/logger";
import type { JobMessage } from "../jobs/types";
import { RESCUE_WINDOW_MS, sendMessages } from "../queue/producer";

/** Bounded pages keep every tick cheap; a bigger backlog drains over the following ticks. */
const PAGE = 500;
/** Due jobs are released this far ahead, with the queue's delay for the rest, so none starts late. */
const RELEASE_AHEAD_MS = 90_000;

export type TickReport = { released: number; rescued: number; sendFailures: number };

export async function tick(env: Env, now: number): Promise<TickReport> {
  const db = openDb(env.DB);
  const queue = env.JOBS_QUEUE as Queue<JobMessage>;
  const graceMs = Number(env.OUTBOX_GRACE_SECONDS || 300) * 1000;

  const due = await findDueScheduled(db, now + RELEASE_AHEAD_MS, PAGE);
  const released = await writeThenSend(db, due, (row) => releaseScheduledStatement(db, row, now), queue, now);

  const tenants = await listTenants(db);
  const fresh = (
    await Promise.all(tenants.map((t) => findStrandedFresh(db, t, now, RESCUE_WINDOW_MS, graceMs, PAGE)))
  ).flat();
  const watched = await findStrandedWatched(db, now, graceMs, PAGE);
  const stranded = dedupe([...fresh, ...watched]);
  // Re-sent rows keep their state; the consumer's claim makes a duplicate delivery harmless.
  const rescued = await writeThenSend(db, stranded, (row) => markResentStatement(db, row, now), queue, now, true);

  const report = { released: released.sent, rescued: rescued.sent, sendFailures: released.failed + rescued.failed };
  if (report.released || report.rescued || report.sendFailures) log.info("tick", report);
  return report;
}

/** Persist, then send: the rows' new state is committed before their messages go out. */
async function writeThenSend(
  db: ReturnType<typeof openDb>,
  rows: JobRow[],
  write: (row: JobRow) => Statement,
  queue: Queue<JobMessage>,
  now: number,
  sendNow = false,
): Promise<{ sent: number; failed: number }> {
  if (rows.length === 0) return { sent: 0, failed: 0 };
  await db.batch(rows.map(write) as [Statement, ...Statement[]]);
  const targets = sendNow ? rows.map((row) => ({ ...row, runAt: now })) : rows;
  const failed = await sendMessages(queue, targets, now, log);
  return { sent: rows.length - failed, failed };
}

function dedupe(rows: JobRow[]): JobRow[] {
  const seen = new Map<string, JobRow>();
  for (const row of rows) seen.set(`${row.tenantId}/${row.id}`, row);
  return [...seen.values()];
}
