// The dead-letter queue's consumer: a job the queue gave up on goes back in line while it has attempts left; dead only when it cannot run.

import { type AttemptLogEntry, FINISHED_STATUSES, type JobMessage } from "../contract/job";
import { jobQueueOf } from "../core/config";
import { describeError } from "../core/errors";
import { newId } from "../core/ids";
import { log } from "../core/logger";
import { watchCallbacksStatement } from "../db/callback-state";
import {
  callbackPendingStatement,
  deadLetterStatement,
  loadJobRows,
  requeueWatchedStatement,
} from "../db/consumer-statements";
import { withDeferral } from "../db/deferrals";
import type { JobRow } from "../db/schema";
import { childrenDoneStatements, wokenOf } from "../db/step-statements";
import { messageFor, sendMessages } from "../service/enqueue";
import { pendingState } from "../webhooks/callback-state";
import { enqueueCallbacks, type FinishedJob, isCallbackMessage } from "../webhooks/callbacks";
import { batchProgress } from "./batch-progress";
import { readDeliveries } from "./delivery";
import { MAX_DEAD_LETTER_RETURNS } from "./limits";

const DELIVERY_FAILED = "DeliveryFailedError";

/** What to do with a dead-lettered job, pure: nothing (it is finished or held), put it back in line, or mark it dead. */
export type DeadLetterDecision =
  | { kind: "leave"; reason: string }
  | { kind: "requeue"; attemptLog: string }
  | { kind: "dead"; error: string };

export function decideDeadLetter(row: JobRow, deliveries: number, now: number): DeadLetterDecision {
  if (FINISHED_STATUSES.includes(row.status as never)) return { kind: "leave", reason: `the job is ${row.status}` };
  if (row.status === "scheduled") return { kind: "leave", reason: "the job is scheduled; the tick sends it" };
  if (row.status === "waiting") return { kind: "leave", reason: "the job is waiting; its wake or the tick sends it" };
  if (row.status === "running" && (row.leaseUntil ?? 0) >= now) {
    return { kind: "leave", reason: "another delivery holds the job and will settle it" };
  }
  const at = new Date(now).toISOString();
  const log = JSON.parse(row.attemptLog) as AttemptLogEntry[];
  const returns = log.filter((entry) => entry.error?.name === DELIVERY_FAILED).length;
  const dead = (message: string) => ({
    kind: "dead" as const,
    error: JSON.stringify({ message, name: DELIVERY_FAILED, attempt: row.attempts, at }),
  });
  if (row.attempts >= row.maxAttempts) {
    return dead(
      `the queue gave up delivering this job after ${deliveries} tries and all ${row.maxAttempts} attempts are used up`,
    );
  }
  if (returns + 1 >= MAX_DEAD_LETTER_RETURNS) {
    return dead(`the queue gave up delivering this job ${returns + 1} times: the consumer keeps failing on it`);
  }
  const entry: AttemptLogEntry = {
    attempt: row.attempts,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
    outcome: "deferred",
    error: { name: DELIVERY_FAILED, message: `the queue gave up after ${deliveries} tries; back in line` },
  };
  return { kind: "requeue", attemptLog: JSON.stringify(withDeferral(log, entry)) };
}

export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env, now = Date.now()): Promise<void> {
  const d1 = env.DB;
  const callbacks: { tenantId: string; id: string }[] = [];
  const jobMessages = batch.messages.filter((message) => {
    if (!isCallbackMessage(message.body)) return true;
    // A callback delivery the consumer kept failing on: its job is finished; the tick's rescue re-sends it.
    log.error("callback delivery dead-lettered", { jobId: message.body.id, tenant: message.body.tenant });
    callbacks.push({ tenantId: message.body.tenant, id: message.body.id });
    return false;
  });
  const deliveries = readDeliveries(jobMessages, log);
  const rows = await loadJobRows(
    d1,
    deliveries.map((d) => d.job),
  );
  const triesById = new Map(deliveries.map((d) => [`${d.job.tenant}/${d.job.id}`, d.message.attempts]));
  const writes: D1PreparedStatement[] = [];
  const dying: FinishedJob[] = [];
  const requeued: JobMessage[] = [];
  for (const row of rows) {
    const decision = decideDeadLetter(row, triesById.get(`${row.tenantId}/${row.id}`) ?? 0, now);
    const fields = { jobId: row.id, tenant: row.tenantId, type: row.type };
    if (decision.kind === "leave") {
      log.info("dead letter left alone", { ...fields, reason: decision.reason });
    } else if (decision.kind === "requeue") {
      log.warn("dead letter re-queued", { ...fields, status: row.status, attempt: row.attempts });
      writes.push(requeueWatchedStatement(d1, row, decision.attemptLog, now));
      requeued.push(messageFor(row, now).body);
    } else {
      log.error("job dead", { ...fields, status: "dead", reason: "delivery_failed" });
      writes.push(deadLetterStatement(d1, row, decision.error, now));
      dying.push({ row, status: "dead" });
      // Jobs that die here still owe their callbackUrl a job.dead event.
      if (row.callbackUrl) {
        const state = JSON.stringify(pendingState("job.dead", newId("msg", now)));
        writes.push(callbackPendingStatement(d1, { tenant: row.tenantId, id: row.id }, "dead", now, state));
      }
    }
  }
  // Their pending callbacks are flagged, so the rescue finds them whatever the age of their ids.
  if (callbacks.length > 0) writes.push(watchCallbacksStatement(d1, callbacks));
  // Children that die here fail their parent's invoke step (and may wake the parent), after their dead marks.
  const done = childrenDoneStatements(
    d1,
    dying.flatMap(({ row }) =>
      row.parentId ? [{ tenant: row.tenantId, id: row.id, status: "dead" as const, finishedAt: now }] : [],
    ),
    now,
  );
  const wakeAt = done ? writes.push(done.steps, done.wake) - 1 : -1;
  // Batch progress goes last (after every dead mark and child report it recounts).
  const progress = batchProgress(
    d1,
    dying.map((d) => d.row),
    now,
  );
  writes.push(...progress.statements);
  // A failed write throws: the whole dead-letter batch is delivered again, so no job is left behind.
  const results = writes.length > 0 ? await d1.batch(writes) : [];
  if (done) await sendMessages(jobQueueOf(env), wokenOf(results[wakeAt]), now, log);
  await progress.afterCommit(results.slice(results.length - progress.statements.length), jobQueueOf(env), log);
  await enqueueCallbacks(jobQueueOf(env), dying, log);
  if (requeued.length > 0) {
    try {
      // Each back in its own lane (messageFor names it); no delay: the rows are due now.
      await jobQueueOf(env).sendBatch(requeued.map((body) => ({ body })));
    } catch (err) {
      // The rows are watched (outbox) and due: the tick's rescue re-sends them after its grace period.
      log.warn("re-queue send failed; the tick's rescue re-sends", {
        jobIds: requeued.map((j) => j.id),
        error: describeError(err).message,
      });
    }
  }
  batch.ackAll();
}
