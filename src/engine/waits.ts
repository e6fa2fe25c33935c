// Waits: a job that is not failing but must come back later is acked and re-sent with a delay, never message.retry().

import type { JobMessage } from "../contract/job";
import { describeError } from "../core/errors";
import type { Logger } from "../core/logger";
import type { Delivery } from "./delivery";

export type Wait = { delivery: Delivery; delaySeconds: number; reason: string };

/** sendBatch takes at most 100 messages. */
const SEND_CHUNK = 100;

/**
 * Sends a fresh message per wait (so the queue's retry counter never runs out on waiting), then acks
 * the old one. If a send fails, the old message is retried with the same delay instead: the job is
 * never left without a message (and its row stays where the tick's rescue looks for it).
 */
export async function sendWaits(queue: Queue<JobMessage>, waits: readonly Wait[], log: Logger): Promise<void> {
  for (let i = 0; i < waits.length; i += SEND_CHUNK) {
    const chunk = waits.slice(i, i + SEND_CHUNK);
    try {
      await queue.sendBatch(chunk.map(({ delivery, delaySeconds }) => ({ body: delivery.job, delaySeconds })));
      for (const { delivery, delaySeconds, reason } of chunk) {
        log.info("job waits", { jobId: delivery.job.id, tenant: delivery.job.tenant, delaySeconds, reason });
        delivery.message.ack();
      }
    } catch (err) {
      log.warn("re-send failed; message retried instead", {
        jobIds: chunk.map((w) => w.delivery.job.id),
        error: describeError(err).message,
      });
      for (const { delivery, delaySeconds } of chunk) delivery.message.retry({ delaySeconds });
    }
  }
}
