// The dead-letter queue's consumer: a message the main consumer kept failing on marks its job dead, with the reason.
import { openDb } from "../db/client";
import { deadLetterStatement, loadJobs, type Statement } from "../db/jobs";
import { log } from "../jobs/logger";
import { FINISHED_STATUSES, type JobMessage } from "../jobs/types";
import { callbackPendingWrites, enqueueCallbacks, type FinishedJob, isCallbackMessage } from "../webhooks/callbacks";

export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env, now = Date.now()): Promise<void> {
  const db = openDb(env.DB);
  const keys: JobMessage[] = [];
  for (const message of batch.messages) {
    const body = message.body as Partial<JobMessage> | null;
    if (isCallbackMessage(body)) {
      // A callback delivery the consumer kept failing on: its job is finished, only the callback is lost.
      log.error("callback delivery dead-lettered", { jobId: body.id, tenant: body.tenant });
      continue;
    }
    if (typeof body?.tenant === "string" && typeof body.id === "string")
      keys.push({ tenant: body.tenant, id: body.id });
    else log.error("malformed dead letter acked", { messageId: message.id });
  }
  const rows = keys.length > 0 ? await loadJobs(db, keys) : [];
  const attemptsById = new Map(batch.messages.map((m) => [(m.body as JobMessage | null)?.id, m.attempts]));
  const writes: Statement[] = rows.map((row) => {
    const deliveries = attemptsById.get(row.id) ?? 0;
    const error = {
      message: `the queue gave up delivering this job after ${deliveries} tries: the consumer kept failing on it`,
      name: "DeliveryFailedError",
      attempt: row.attempts,
      at: new Date(now).toISOString(),
    };
    log.error("job dead", {
      jobId: row.id,
      tenant: row.tenantId,
      type: row.type,
      status: "dead",
      reason: "delivery_failed",
    });
    return deadLetterStatement(db, row.tenantId, row.id, JSON.stringify(error), row.attemptLog, now);
  });
  // Jobs that die here still owe their callbackUrl a job.dead event.
  const dying: FinishedJob[] = rows
    .filter((row) => !FINISHED_STATUSES.includes(row.status as never))
    .map((row) => ({ row, status: "dead" }));
  writes.push(...callbackPendingWrites(db, dying, now));
  // A failed write throws: the whole dead-letter batch is delivered again, so no job is left behind.
  if (writes.length > 0) await db.batch(writes as [Statement, ...Statement[]]);
  await enqueueCallbacks(env.JOBS_QUEUE, dying, log);
  batch.ackAll();
}
