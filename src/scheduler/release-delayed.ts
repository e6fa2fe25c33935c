// The tick's delayed-job phase: move `scheduled` jobs due within the next tick window into the queue, and wake the
// parked workflow jobs that are the tick's to wake (sleeps and event timeouts past the queue's delay, lost wakes).

import type { JobMessage } from "../contract/job";
import type { Logger } from "../core/logger";
import type { Db } from "../db/client";
import { releaseDueScheduled, releaseDueWaiting } from "../db/job-sweeps";
import { sendMessages } from "../service/enqueue";

/** Jobs released per tick; a bigger backlog drains over the following ticks. */
export const RELEASE_PAGE = 500;
/**
 * Due jobs are released this far ahead, with the queue's delaySeconds for the rest: the next tick
 * may come a little late, and a job must not start late because of it, nor early because of this.
 */
export const RELEASE_AHEAD_MS = 90_000;

export async function releaseDelayed(
  db: Db,
  queue: Queue<JobMessage>,
  log: Logger,
  now: number,
  graceMs: number,
): Promise<{ released: number; sendFailures: number }> {
  const scheduled = await releaseDueScheduled(db, now + RELEASE_AHEAD_MS, RELEASE_PAGE, now);
  // A waiting job whose wake went out as a delayed message is only taken once that message is overdue by the grace.
  const waiting = await releaseDueWaiting(db, now + RELEASE_AHEAD_MS, now - graceMs, RELEASE_PAGE, now);
  const released = [...scheduled, ...waiting];
  if (released.length === 0) return { released: 0, sendFailures: 0 };
  // The rows are committed as queued (and watched by the outbox index) before any message goes out.
  const sendFailures = await sendMessages(queue, released, now, log);
  return { released: released.length, sendFailures };
}
