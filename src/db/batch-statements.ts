// Batches' SQL: create, add (only while open), close, read, the recount that finishes a batch once.
import type { Batch, BatchCallbackState, BatchFinisher, BatchStatus } from "../contract/batches";
import { prepared } from "./consumer-statements";
import type { BatchRow } from "./schema";

const SELECT_BATCH = `SELECT tenant_id AS tenantId, id, status, description, callback_url AS callbackUrl,
  on_success AS onSuccess, on_complete AS onComplete, open, total, succeeded, dead, cancelled,
  callback_state AS callbackState, created_at AS createdAt, updated_at AS updatedAt, finished_at AS finishedAt
  FROM batches`;

const INSERT = `INSERT INTO batches (tenant_id, id, status, description, callback_url, on_success, on_complete, open,
  total, created_at, updated_at) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)`;

export const insertBatchStatement = (d1: D1Database, row: BatchRow) =>
  prepared(d1, INSERT).bind(
    row.tenantId,
    row.id,
    row.description,
    row.callbackUrl,
    row.onSuccess,
    row.onComplete,
    row.open,
    row.total,
    row.createdAt,
  );

/**
 * Fails the whole D1 batch (one transaction) unless the batch is open: when it is not, this inserts a row with a
 * NULL status, which the NOT NULL constraint refuses. So an add to a closed (or missing) batch writes nothing at all,
 * even when a close commits between the request's read and its write.
 */
const ADD_GUARD = `INSERT INTO batches (tenant_id, id, status, open, created_at, updated_at)
  SELECT ?1, ?2, NULL, 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM batches WHERE tenant_id = ?1 AND id = ?2 AND open = 1)`;
/** The message of the constraint failure ADD_GUARD raises (D1 passes SQLite's through). */
export const ADD_GUARD_FAILURE = "NOT NULL constraint failed: batches.status";

const ADD_TOTAL = `UPDATE batches SET total = total + ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2 AND open = 1`;

export const addJobsStatements = (d1: D1Database, tenant: string, id: string, count: number, now: number) => [
  prepared(d1, ADD_GUARD).bind(tenant, id),
  prepared(d1, ADD_TOTAL).bind(tenant, id, count, now),
];

const CLOSE = `UPDATE batches SET open = 0, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND open = 1`;

export const closeBatchStatement = (d1: D1Database, tenant: string, id: string, now: number) =>
  prepared(d1, CLOSE).bind(tenant, id, now);

const GET = `${SELECT_BATCH} WHERE tenant_id = ?1 AND id = ?2`;

export async function getBatchRow(d1: D1Database, tenant: string, id: string): Promise<BatchRow | null> {
  return prepared(d1, GET).bind(tenant, id).first<BatchRow>();
}

/** Newest first, by the primary key or (with a status) the batches_status index (tenant, status, id). Reads limit + 1. */
const LIST_ALL = `${SELECT_BATCH} WHERE tenant_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3`;
const LIST_BY_STATUS = `${SELECT_BATCH} WHERE tenant_id = ?1 AND status = ?4 AND id < ?2 ORDER BY id DESC LIMIT ?3`;
/** Above every batch id ("bat_" + base32): the first page's cursor. */
const AFTER_LAST = "bat_~";

export async function listBatchRows(
  d1: D1Database,
  tenant: string,
  filter: { status?: string; cursor?: string; limit: number },
): Promise<BatchRow[]> {
  const params = [tenant, filter.cursor ?? AFTER_LAST, filter.limit + 1];
  const statement = filter.status
    ? prepared(d1, LIST_BY_STATUS).bind(...params, filter.status)
    : prepared(d1, LIST_ALL).bind(...params);
  return (await statement.all<BatchRow>()).results;
}

/**
 * Every statement below works on a set of batches, the rows (kt, kb) of a KEYS subquery, so a consumer wave costs the
 * same four statements whether its jobs belong to one batch or to a hundred (D1 counts queries per invocation).
 */
const BY_KEYS = `SELECT DISTINCT json_extract(value, '$[0]') AS kt, json_extract(value, '$[1]') AS kb FROM json_each(?1)`;
/** The job's own batch, found inside SQL: a path that finishes one job need not know whether it is batched. */
const BY_JOB = `SELECT tenant_id AS kt, batch_id AS kb FROM jobs WHERE tenant_id = ?1 AND id = ?2 AND batch_id IS NOT NULL`;

/**
 * The recount (?3 now). The counts come from the job rows themselves (through jobs_batch), inside the transaction that
 * changed them, so they are exact whatever happened before: an outcome that did not land is not counted, a requeue by
 * hand simply stops counting. It writes a batch row only when one of its counts changed: at most one row per batch per
 * transaction, and it never names `status` (so no index entry moves).
 */
const recountSql = (keys: string) => `UPDATE batches SET succeeded = c.s, dead = c.d, cancelled = c.x, updated_at = ?3
  FROM (SELECT k.kt AS t, k.kb AS b, count(CASE WHEN j.status = 'succeeded' THEN 1 END) AS s,
      count(CASE WHEN j.status = 'dead' THEN 1 END) AS d, count(CASE WHEN j.status = 'cancelled' THEN 1 END) AS x
    FROM (${keys}) AS k JOIN jobs j ON j.tenant_id = k.kt AND j.batch_id = k.kb GROUP BY k.kt, k.kb) AS c
  WHERE batches.tenant_id = c.t AND batches.id = c.b AND batches.status = 'running'
    AND (batches.succeeded != c.s OR batches.dead != c.d OR batches.cancelled != c.x)`;

const IN_KEYS = (keys: string, alias = "batches") =>
  `(${alias}.tenant_id, ${alias}.id) IN (SELECT kt, kb FROM (${keys}))`;

/**
 * The finish, right after the recount in the same transaction: a closed batch whose counts reach its total. `status =
 * 'running'` in the WHERE makes that transition happen in exactly one transaction (D1 runs them one at a time), so
 * whatever runs it again later (a duplicate outcome, a crash's redelivery, a close) finds nothing to do. It also sets
 * the callback's pending state (its webhook id derived from the batch id, so it never changes).
 */
const finishSql = (keys: string) => `UPDATE batches SET updated_at = ?3, finished_at = ?3,
  status = CASE WHEN succeeded = total THEN 'succeeded' ELSE 'completed' END,
  callback_state = CASE WHEN callback_url IS NOT NULL THEN json_object(
    'status', 'pending', 'event', CASE WHEN succeeded = total THEN 'batch.succeeded' ELSE 'batch.completed' END,
    'webhookId', 'msg_' || substr(id, 5), 'attempts', 0, 'lastStatus', NULL, 'lastError', NULL,
    'lastAttemptAt', NULL, 'nextAttemptAt', NULL, 'deliveredAt', NULL) END
  WHERE ${IN_KEYS(keys)} AND status = 'running' AND open = 0 AND succeeded + dead + cancelled >= total
  RETURNING tenant_id AS tenant, id, status, callback_url AS callbackUrl`;

/**
 * The job a batch's finish enqueues, inserted in the finishing transaction (`finished_at = ?3`: only by the statement
 * that finished it) under an id derived from the batch id, so it exists exactly once even if that transaction is
 * retried. It is watched by the outbox index (outbox = 1), so the tick's rescue sends it if the consumer dies before
 * its message goes out. Its options were resolved from its job type when the batch was created.
 */
const finisherSql = (column: "on_complete" | "on_success", keys: string, statuses: string) => `INSERT INTO jobs
  (tenant_id, id, type, status, payload, attempts, max_attempts, options, run_at, created_at, updated_at, metadata, outbox,
    queue)
  SELECT b.tenant_id, 'job_' || substr(b.id, 5, 25) || '${column === "on_complete" ? "C" : "S"}',
    json_extract(b.${column}, '$.type'), 'queued',
    json_set(coalesce(json_extract(b.${column}, '$.payload'), '{}'), '$.batch', json_object('id', b.id, 'total', b.total,
      'succeeded', b.succeeded, 'dead', b.dead, 'cancelled', b.cancelled)),
    0, json_extract(b.${column}, '$.maxAttempts'), json_extract(b.${column}, '$.options'), ?3, ?3, ?3, '{}', 1,
    coalesce(json_extract(b.${column}, '$.queue'), 'default')
  FROM batches b WHERE ${IN_KEYS(keys, "b")} AND b.status IN ${statuses} AND b.finished_at = ?3
    AND b.${column} IS NOT NULL
  ON CONFLICT DO NOTHING
  RETURNING tenant_id AS tenantId, id, run_at AS runAt, queue`;

/** The ids finisherSql gives a batch's onComplete and onSuccess jobs (same derivation, for answers and tests). */
export const finisherJobId = (batchId: string, kind: "onComplete" | "onSuccess") =>
  `job_${batchId.slice(4, 29)}${kind === "onComplete" ? "C" : "S"}`;

const progressSqls = (keys: string) => [
  recountSql(keys),
  finishSql(keys),
  finisherSql("on_complete", keys, `('succeeded', 'completed')`),
  finisherSql("on_success", keys, `('succeeded')`),
];

const FOR_KEYS = progressSqls(BY_KEYS);
const FOR_JOB = progressSqls(BY_JOB);

/**
 * Recount, finish and the two finisher inserts of these batches, in this order, for the transaction that changed
 * their jobs: always four statements, the batches as one JSON parameter (never near the 100 bound parameters).
 */
export const progressStatements = (
  d1: D1Database,
  batches: readonly { tenant: string; batchId: string }[],
  now: number,
) => {
  const keys = JSON.stringify(batches.map((b) => [b.tenant, b.batchId]));
  return FOR_KEYS.map((sql) => prepared(d1, sql).bind(keys, null, now));
};

/** The same for the batch of job `jobId` (nothing at all when it has none). */
export const progressForJobStatements = (d1: D1Database, tenant: string, jobId: string, now: number) =>
  FOR_JOB.map((sql) => prepared(d1, sql).bind(tenant, jobId, now));

/** What the finish answers for a batch it finished. */
export type FinishRow = { tenant: string; id: string; status: string; callbackUrl: string | null };
/** What a finisher insert answers when it created its job. */
export type FinisherRow = { tenantId: string; id: string; runAt: number; queue: string };

const LOAD = `${SELECT_BATCH} WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2))`;

/** Batch rows by key, one statement per tenant, in one round trip. */
export async function loadBatchRows(d1: D1Database, keys: readonly { tenant: string; id: string }[]) {
  const byTenant = new Map<string, string[]>();
  for (const { tenant, id } of keys) byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), id]);
  if (byTenant.size === 0) return [];
  const statement = prepared(d1, LOAD);
  const results = await d1.batch<BatchRow>([...byTenant].map(([t, ids]) => statement.bind(t, JSON.stringify(ids))));
  return results.flatMap((r) => r.results);
}

/** ?4 state: lands only on the delivery it belongs to (the same webhook id). */
const SAVE_CALLBACK = `UPDATE batches SET callback_state = ?4 WHERE tenant_id = ?1 AND id = ?2
  AND json_extract(callback_state, '$.webhookId') = ?3`;

export const saveBatchCallbackStatement = (
  d1: D1Database,
  tenant: string,
  id: string,
  webhookId: string,
  state: string,
) => prepared(d1, SAVE_CALLBACK).bind(tenant, id, webhookId, state);

/**
 * Finished batches whose callback is still pending and due (finished before `before`, next attempt not ahead): the
 * tick's rescue for a callback message that was lost, a page at a time. The first term is the batches_callback_pending
 * partial index's own condition, so only batches with a pending callback are read.
 */
const PENDING_CALLBACKS = `SELECT tenant_id AS tenant, id FROM batches
  WHERE json_extract(callback_state, '$.status') = 'pending' AND updated_at < ?1
    AND status IN ('succeeded', 'completed') AND coalesce(json_extract(callback_state, '$.nextAttemptAt'), '') < ?2
  LIMIT ?3`;

export async function pendingBatchCallbacks(d1: D1Database, before: number, limit: number) {
  const { results } = await prepared(d1, PENDING_CALLBACKS)
    .bind(before, new Date(before).toISOString(), limit)
    .all<{ tenant: string; id: string }>();
  return results;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/** The Batch answer of a row. `pending` is what the counts leave of the total. */
export function rowToBatch(row: BatchRow): Batch {
  const finisher = (text: string | null) => {
    const stored = parse<BatchFinisher>(text);
    return stored ? { type: stored.type, ...(stored.payload ? { payload: stored.payload } : {}) } : null;
  };
  return {
    id: row.id,
    status: row.status as BatchStatus,
    description: row.description,
    total: row.total,
    pending: Math.max(0, row.total - row.succeeded - row.dead - row.cancelled),
    succeeded: row.succeeded,
    dead: row.dead,
    cancelled: row.cancelled,
    open: row.open === 1,
    createdAt: iso(row.createdAt) as string,
    finishedAt: iso(row.finishedAt),
    callbackUrl: row.callbackUrl,
    onSuccess: finisher(row.onSuccess),
    onComplete: finisher(row.onComplete),
    callback: parse<BatchCallbackState>(row.callbackState),
  };
}

/**
 * The prune's batch phase, over the same page of tenants as the job prune (the `prune` sweep cursor, read before that
 * prune moves it; ?1 page size): per tenant at most ?4 batches that finished before ?3 (their ids, time-sortable, are
 * below ?2, so batches_status reads only that range), whose callback is settled (none, delivered or failed: a pending
 * one still needs the row) and none of whose jobs is left (through jobs_batch: a job kept longer, e.g. a dead one,
 * keeps its batch readable). A running batch is never touched.
 */
const PRUNE_BATCHES = `WITH page AS (SELECT tenant_id FROM tenants
    WHERE tenant_id > coalesce((SELECT after FROM sweep_cursors WHERE sweep = 'prune'), '') ORDER BY tenant_id LIMIT ?1)
  DELETE FROM batches WHERE (tenant_id, id) IN (SELECT p.tenant_id, b.id FROM page p, batches b
    WHERE b.tenant_id = p.tenant_id AND b.id IN (SELECT k.id FROM batches k INDEXED BY batches_status
      WHERE k.tenant_id = p.tenant_id AND k.status IN ('succeeded', 'completed') AND k.id < ?2 AND k.finished_at < ?3
        AND (k.callback_state IS NULL OR json_extract(k.callback_state, '$.status') IN ('delivered', 'failed'))
        AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = k.tenant_id AND j.batch_id = k.id)
      LIMIT ?4))`;

export const pruneBatchesStatement = (
  d1: D1Database,
  options: { pageSize: number; idsBefore: string; finishedBefore: number; perTenant: number },
) => prepared(d1, PRUNE_BATCHES).bind(options.pageSize, options.idsBefore, options.finishedBefore, options.perTenant);
