// Batches (fan-in): create, add jobs while open, close, read, list and cancel, for HTTP, RPC and the dashboard alike.

import type { Batch, BatchFinisher, CreateBatchInput, ListBatchesFilter } from "../contract/batches";
import { ApiError, notFound } from "../contract/errors";
import type { Job } from "../contract/job";
import type { EnqueueInput } from "../contract/schemas";
import { PayloadValidationError } from "../core/enqueue-errors";
import { describeError } from "../core/errors";
import { newId } from "../core/ids";
import {
  ADD_GUARD_FAILURE,
  addJobsStatements,
  closeBatchStatement,
  getBatchRow,
  insertBatchStatement,
  listBatchRows,
  rowToBatch,
} from "../db/batch-statements";
import { type BatchCancelledRow, batchCancelledOf, batchCancelPageStatements } from "../db/cancel-statements";
import type { Db } from "../db/client";
import { insertManyStatements, storedJobRow } from "../db/job-insert";
import { rowToJob } from "../db/jobs";
import type { BatchRow, JobRow } from "../db/schema";
import { childrenDoneStatements, wokenOf } from "../db/step-statements";
import { recordTenant } from "../db/tenants";
import { batchProgress } from "./batch-progress";
import { buildJobRow, type EnqueueContext, sendMessages } from "./enqueue";
import { refusedTargets } from "./enqueue-guard";

export type BatchWithJobs = Batch & { jobs: Job[] };

/**
 * Jobs of the batch cancelled per transaction by a batch cancel, so a huge batch never makes one long write; large
 * enough that a 5,000-job batch fits the Free plan's 50 D1 queries (six statements a page).
 */
export const CANCEL_PAGE_SIZE = 1000;

const d1Of = (db: Db): D1Database => (db as Db & { $client: D1Database }).$client;

/** The rows of a create or add: built (and validated) like POST /v1/jobs/batch, each marked with the batch. */
function batchedRows(inputs: EnqueueInput[], ctx: EnqueueContext, batchId: string): JobRow[] {
  return inputs.map((input, i) => storedJobRow({ ...buildJobRow(input, ctx, `jobs.${i}`), batchId }));
}

/**
 * What a finisher job becomes when its batch finishes, resolved now from its job type (so an unknown type or a
 * payload its schema refuses is a 422/400 at create time, not a dead job later). The payload is checked with the
 * `batch` field it will get, so a strict schema that does not expect it fails here.
 */
function finisherTemplate(finisher: BatchFinisher | undefined, ctx: EnqueueContext, path: string): string | null {
  if (!finisher) return null;
  const payload = finisher.payload ?? {};
  const sample = { ...payload, batch: { id: "bat_0", total: 0, succeeded: 0, dead: 0, cancelled: 0 } };
  const row = buildJobRow({ type: finisher.type, payload: sample }, ctx, path);
  return JSON.stringify({
    type: finisher.type,
    payload,
    maxAttempts: row.maxAttempts,
    options: JSON.parse(row.options),
    // The lane its job type runs in: the finisher's row and message go there.
    queue: row.queue ?? "default",
  });
}

export async function createBatch(ctx: EnqueueContext, input: CreateBatchInput): Promise<BatchWithJobs> {
  const issues = input.callbackUrl
    ? refusedTargets({ type: "", payload: null, callbackUrl: input.callbackUrl }, ctx.allowPrivateTargets)
    : [];
  if (issues.length > 0) throw new PayloadValidationError("a target URL was refused", issues);
  const id = newId("bat", ctx.now);
  const batch: BatchRow = {
    tenantId: ctx.tenant,
    id,
    status: "running",
    description: input.description ?? null,
    callbackUrl: input.callbackUrl ?? null,
    onSuccess: finisherTemplate(input.onSuccess, ctx, "onSuccess"),
    onComplete: finisherTemplate(input.onComplete, ctx, "onComplete"),
    open: input.open ? 1 : 0,
    total: input.jobs.length,
    succeeded: 0,
    dead: 0,
    cancelled: 0,
    callbackState: null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    finishedAt: null,
  };
  const rows = batchedRows(input.jobs, ctx, id);
  await recordTenant(ctx.db, ctx.tenant, ctx.now);
  // The batch and its jobs in one transaction, before any message goes out.
  const d1 = d1Of(ctx.db);
  await d1.batch([
    insertBatchStatement(d1, batch),
    ...insertManyStatements(ctx.db, rows).map(({ statement }) => statement),
  ]);
  await sendJobs(ctx, rows);
  ctx.log.info("batch created", { batchId: id, total: rows.length, open: batch.open === 1 });
  return { ...rowToBatch(batch), jobs: rows.map(rowToJob) };
}

async function sendJobs(ctx: EnqueueContext, rows: JobRow[]) {
  await sendMessages(
    ctx.queue,
    rows.filter((row) => row.status === "queued"),
    ctx.now,
    ctx.log,
  );
}

/** 404 when the batch is not this tenant's. */
async function existing(ctx: Pick<EnqueueContext, "db" | "tenant">, id: string): Promise<BatchRow> {
  const row = await getBatchRow(d1Of(ctx.db), ctx.tenant, id);
  if (!row) throw notFound("batch");
  return row;
}

/** Adds jobs to an open batch: all or nothing, and nothing at all once the batch is closed (409). */
export async function addBatchJobs(ctx: EnqueueContext, id: string, inputs: EnqueueInput[]): Promise<BatchWithJobs> {
  const before = await existing(ctx, id);
  if (before.open !== 1) throw new ApiError("conflict", "the batch is closed: no more jobs can be added");
  const rows = batchedRows(inputs, ctx, id);
  await recordTenant(ctx.db, ctx.tenant, ctx.now);
  const d1 = d1Of(ctx.db);
  try {
    await d1.batch([
      ...addJobsStatements(d1, ctx.tenant, id, rows.length, ctx.now),
      ...insertManyStatements(ctx.db, rows).map(({ statement }) => statement),
    ]);
  } catch (err) {
    // Closed between the read above and this write: the guard made the whole transaction fail, so nothing was written.
    if (describeError(err).message.includes(ADD_GUARD_FAILURE)) {
      throw new ApiError("conflict", "the batch is closed: no more jobs can be added");
    }
    throw err;
  }
  await sendJobs(ctx, rows);
  const after = await existing(ctx, id);
  return { ...rowToBatch(after), jobs: rows.map(rowToJob) };
}

/**
 * Closes the batch (idempotent) and, in the same transaction, recounts it: a batch whose jobs are all finished
 * finishes right here, enqueuing its finishers once.
 */
export async function closeBatch(ctx: EnqueueContext, id: string): Promise<Batch> {
  await existing(ctx, id);
  const d1 = d1Of(ctx.db);
  const progress = batchProgress(d1, [{ tenantId: ctx.tenant, batchId: id }], ctx.now);
  const results = await d1.batch([closeBatchStatement(d1, ctx.tenant, id, ctx.now), ...progress.statements]);
  await progress.afterCommit(results.slice(1), ctx.queue, ctx.log);
  return rowToBatch(await existing(ctx, id));
}

/**
 * Closes the batch and cancels every job of it that has not started (scheduled, queued, retrying) or is parked
 * (waiting), with the cascade of a cancel by hand (cancel-job.ts): the unstarted children of its workflow jobs are
 * cancelled with them, their open waits close, and a parent whose child one of them is gets its invoke step failed and
 * wakes. A page of CANCEL_PAGE_SIZE jobs per transaction, each recounted (and finished, once nothing is left) in it:
 * six statements a page, so a 5,000-job batch takes about 40 D1 queries, within the Free plan's 50. Running jobs
 * finish as they will, then the batch finishes.
 */
export async function cancelBatch(ctx: EnqueueContext, id: string): Promise<Batch> {
  await existing(ctx, id);
  const d1 = d1Of(ctx.db);
  const now = ctx.now;
  let first = true;
  let after = "";
  let children = 0;
  for (;;) {
    const progress = batchProgress(d1, [{ tenantId: ctx.tenant, batchId: id }], now);
    const writes = [
      ...batchCancelPageStatements(d1, { tenant: ctx.tenant, batchId: id, after, size: CANCEL_PAGE_SIZE }, now),
      ...progress.statements,
    ];
    if (first) writes.unshift(closeBatchStatement(d1, ctx.tenant, id, now));
    const results = await d1.batch(writes);
    const pageResults = results.slice(first ? 1 : 0);
    const page = batchCancelledOf(pageResults[1], id, CANCEL_PAGE_SIZE);
    await progress.afterCommit(pageResults.slice(2), ctx.queue, ctx.log);
    first = false;
    children += page.children.length;
    await failParentSteps(ctx, page.own, now);
    if (page.own.length < CANCEL_PAGE_SIZE) break;
    after = page.last;
  }
  if (children > 0) ctx.log.info("children cancelled with their batch's jobs", { batchId: id, count: children });
  ctx.log.info("batch cancelled", { batchId: id });
  return rowToBatch(await existing(ctx, id));
}

/**
 * The cancelled jobs that are children (an invoke of some workflow): their parents' invoke steps fail
 * (ChildJobFailedError, childStatus "cancelled") and a parent wakes once no child is left, as after a cancel by hand.
 * Conditional on each job being cancelled at `now`, so it is idempotent; none at all for jobs that have no parent.
 */
async function failParentSteps(ctx: EnqueueContext, cancelled: BatchCancelledRow[], now: number) {
  const d1 = d1Of(ctx.db);
  const done = childrenDoneStatements(
    d1,
    cancelled
      .filter((row) => row.parentId !== null)
      .map((row) => ({ tenant: ctx.tenant, id: row.id, status: "cancelled" as const, finishedAt: now })),
    now,
  );
  if (!done) return;
  const [, woken] = await d1.batch([done.steps, done.wake]);
  const parents = wokenOf(woken);
  if (parents.length > 0) await sendMessages(ctx.queue, parents, now, ctx.log);
}

export async function getBatch(db: Db, tenant: string, id: string): Promise<Batch | undefined> {
  const row = await getBatchRow(d1Of(db), tenant, id);
  return row ? rowToBatch(row) : undefined;
}

export async function listBatches(
  db: Db,
  tenant: string,
  filter: ListBatchesFilter,
): Promise<{ data: Batch[]; nextCursor: string | null }> {
  const rows = await listBatchRows(d1Of(db), tenant, filter);
  return {
    data: rows.slice(0, filter.limit).map(rowToBatch),
    nextCursor: rows.length > filter.limit ? (rows[filter.limit - 1]?.id ?? null) : null,
  };
}
