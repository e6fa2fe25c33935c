// One queue message of a job, read: its message and the job it names. Malformed messages are answered here.

import type { JobMessage } from "../contract/job";
import type { Logger } from "../core/logger";

export type Delivery = { message: Message<unknown>; job: JobMessage };

function isJobMessage(body: unknown): body is JobMessage {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.tenant === "string" && typeof b.id === "string";
}

/** The batch's job deliveries; a message that names no job can never run, so it is acked (and logged). */
export function readDeliveries(messages: readonly Message<unknown>[], log: Logger): Delivery[] {
  const deliveries: Delivery[] = [];
  for (const message of messages) {
    if (isJobMessage(message.body)) {
      // The lane travels with every re-send of this delivery (retry, deferral, wait): it must not be dropped here.
      const { tenant, id, queue } = message.body;
      deliveries.push({ message, job: typeof queue === "string" ? { tenant, id, queue } : { tenant, id } });
    } else {
      log.error("malformed queue message acked", { messageId: message.id });
      message.ack();
    }
  }
  return deliveries;
}

export const jobKeyOf = (job: { tenant: string; id: string }) => `${job.tenant}/${job.id}`;

/** Names one delivery of a job for the flow gate, so two deliveries never share a slot. */
export const leaseIdOf = (delivery: Delivery) => `${delivery.job.id}/${delivery.message.id}`;
