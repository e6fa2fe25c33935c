// The tick's delayed-job phase: move `scheduled` jobs due within the next tick window into the queue.

import type { JobMessage } from "../contract/job";
import type { Logger } from "../core/logger";
import type { Db } from "../db/client";
import { releaseDueScheduled } from "../db/job-sweeps";
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
): Promise<{ released: number; sendFailures: number }> {
  const released = await releaseDueScheduled(db, now + RELEASE_AHEAD_MS, RELEASE_PAGE, now);
  if (released.length === 0) return { released: 0, sendFailures: 0 };
  // The rows are committed as queued (and watched by the outbox index) before any message goes out.
  const sendFailures = await sendMessages(queue, released, now, log);
  return { released: released.length, sendFailures };
}
