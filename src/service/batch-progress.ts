// Batch progress for the paths that finish jobs: one recount per touched batch rides in their transaction, then the sends.

import type { JobMessage } from "../contract/job";
import { describeError } from "../core/errors";
import type { Logger } from "../core/logger";
import { type FinisherRow, type FinishRow, progressForJobStatements, progressStatements } from "../db/batch-statements";
import { batchCallbackMessage } from "../webhooks/batch-callbacks";
import { messageFor } from "./enqueue";

export type BatchKey = { tenant: string; batchId: string };

/** The distinct batches of these rows, in first-seen order; rows outside any batch are skipped. Pure. */
export function touchedBatches(rows: readonly { tenantId: string; batchId: string | null }[]): BatchKey[] {
  const seen = new Map<string, BatchKey>();
  for (const { tenantId, batchId } of rows) {
    if (batchId === null || batchId === undefined) continue;
    const key = `${tenantId}/${batchId}`;
    if (!seen.has(key)) seen.set(key, { tenant: tenantId, batchId });
  }
  return [...seen.values()];
}

export type BatchProgress = {
  /** Goes in the same d1.batch as the writes that finished the jobs, after them. */
  statements: D1PreparedStatement[];
  /** After that batch committed, with these statements' results in order: sends the finishers and callbacks. Never throws. */
  afterCommit(results: readonly (D1Result | undefined)[], queue: Queue, log: Logger): Promise<void>;
};

const NOTHING: BatchProgress = { statements: [], afterCommit: async () => {} };

/** The recount, the finish, the onComplete insert, the onSuccess insert (see db/batch-statements.ts). */
const STATEMENTS_PER_BATCH = 4;

/**
 * Four statements for all the batches these rows belong to: a consumer wave adds four statements whatever the number
 * of batches, and writes one row per batch whose counts changed (not one per job); a finish writes once more, once.
 */
export function batchProgress(
  d1: D1Database,
  rows: readonly { tenantId: string; batchId: string | null }[],
  now: number,
): BatchProgress {
  const batches = touchedBatches(rows);
  if (batches.length === 0) return NOTHING;
  return progressOf(progressStatements(d1, batches, now));
}

/** The same for one job whose batch (if any) is found inside SQL, e.g. a cancel by hand. */
export const batchProgressForJob = (d1: D1Database, tenant: string, jobId: string, now: number): BatchProgress =>
  progressOf(progressForJobStatements(d1, tenant, jobId, now));

function progressOf(statements: D1PreparedStatement[]): BatchProgress {
  return { statements, afterCommit };
}

/** What the committed statements say to send: the finisher jobs just created and the callbacks of batches just finished. Pure. */
export function sendsOf(results: readonly (D1Result | undefined)[]) {
  const finishers: FinisherRow[] = [];
  const callbacks: { tenant: string; id: string }[] = [];
  for (let i = 0; i < results.length; i++) {
    const rows = (results[i]?.results ?? []) as unknown[];
    const role = i % STATEMENTS_PER_BATCH;
    if (role === 1) {
      for (const row of rows as FinishRow[]) if (row.callbackUrl) callbacks.push({ tenant: row.tenant, id: row.id });
    } else if (role > 1) finishers.push(...(rows as FinisherRow[]));
  }
  return { finishers, callbacks };
}

async function afterCommit(results: readonly (D1Result | undefined)[], queue: Queue, log: Logger) {
  const { finishers, callbacks } = sendsOf(results);
  const messages = [
    // A finisher is due now (run_at = now), so its message needs no delay; it goes to its own lane.
    ...finishers.map((row) => ({ body: messageFor(row, row.runAt).body })),
    ...callbacks.map((batch) => ({ body: batchCallbackMessage(batch.tenant, batch.id) })),
  ];
  if (messages.length === 0) return;
  for (const row of finishers) log.info("batch finisher enqueued", { jobId: row.id, tenant: row.tenantId });
  try {
    await (queue as Queue<JobMessage | ReturnType<typeof batchCallbackMessage>>).sendBatch(messages);
  } catch (err) {
    // The rows are committed and watched: the tick's rescue sends the finisher jobs and the pending callbacks.
    log.warn("batch finish messages not sent; the tick's rescue sends them", {
      jobIds: finishers.map((row) => row.id),
      batchIds: callbacks.map((batch) => batch.id),
      error: describeError(err).message,
    });
  }
}
