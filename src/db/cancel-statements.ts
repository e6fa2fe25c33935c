// Cancel with its cascade: the job, its children that are not running or finished, in one transaction.
import { getTableColumns } from "drizzle-orm";
import { CANCELLABLE } from "../core/state";
import { prepared } from "./consumer-statements";
import { type JobRow, jobs } from "./schema";
import { CANCELLED_WAIT } from "./step-statements";

const ROW = Object.entries(getTableColumns(jobs))
  .map(([key, column]) => `"${column.name}" AS "${key}"`)
  .join(", ");
const STATUSES = CANCELLABLE.map((status) => `'${status}'`).join(", ");
const CANCELLED = `status = 'cancelled', finished_at = ?3, updated_at = ?3, outbox = 0, waiting_for = NULL, lease_until = NULL`;

/** ?1 tenant, ?2 id, ?3 now. Answers the cancelled row, or none when the job was not in a cancellable state. */
const CANCEL = `UPDATE jobs SET ${CANCELLED} WHERE tenant_id = ?1 AND id = ?2 AND status IN (${STATUSES}) RETURNING ${ROW}`;

/**
 * ?1 tenant, ?2 parent, ?3 now. The children of a job this batch cancelled (through jobs_children) that have not
 * finished and hold no claim: they are cancelled with it (one level: a child's own children are left as they are).
 */
const CANCEL_CHILDREN = `UPDATE jobs SET ${CANCELLED}
  WHERE tenant_id = ?1 AND parent_id = ?2 AND status IN (${STATUSES})
    AND EXISTS (SELECT 1 FROM jobs p WHERE p.tenant_id = ?1 AND p.id = ?2 AND p.status = 'cancelled' AND p.finished_at = ?3)
  RETURNING id`;

export const cancelStatement = (d1: D1Database, tenant: string, id: string, now: number) =>
  prepared(d1, CANCEL).bind(tenant, id, now);

export const cancelChildrenStatement = (d1: D1Database, tenant: string, parentId: string, now: number) =>
  prepared(d1, CANCEL_CHILDREN).bind(tenant, parentId, now);

export const cancelledRowOf = (result: D1Result | undefined) =>
  (result?.results?.[0] as JobRow | undefined) ?? undefined;

// ---- a batch cancel: the same cascade, set-based over a page of the batch's jobs (POST /v1/batches/:id/cancel) ----

/**
 * ?1 tenant, ?2 batch, ?4 page size, ?5 the last id of the previous page ('' for the first). The batch's next page of
 * cancellable jobs (scheduled, queued, retrying, waiting), through jobs_batch in id order from ?5 on, so each page
 * reads only its own stretch of the index. Both statements of a page run in one transaction and the first one writes
 * only job_steps, so both see the same page.
 */
const BATCH_PAGE = `page AS (SELECT id FROM jobs INDEXED BY jobs_batch WHERE tenant_id = ?1 AND batch_id = ?2 AND id > ?5
  AND status IN (${STATUSES}) ORDER BY id LIMIT ?4)`;

/**
 * ?3 now. Before the cancel: the page's open waits close (failed, as a cancel by hand closes them, so a retry by hand
 * reopens them), so no later event or child completes a step nobody will read.
 */
const BATCH_CLOSE_WAITS = `WITH ${BATCH_PAGE} UPDATE job_steps SET status = 'failed', finished_at = ?3,
    error = json_object('message', 'the job was cancelled while waiting', 'name', '${CANCELLED_WAIT}')
  WHERE tenant_id = ?1 AND job_id IN (SELECT id FROM page) AND status = 'waiting'`;

/**
 * The page and, with it, the unstarted children of its jobs (through jobs_children; one level, like a cancel by hand):
 * one statement. Answers every row it cancelled; the page's own rows are those with a batch (a child has none).
 */
const BATCH_CANCEL = `WITH ${BATCH_PAGE} UPDATE jobs SET ${CANCELLED}
  WHERE tenant_id = ?1 AND status IN (${STATUSES}) AND id IN (SELECT id FROM page UNION ALL
    SELECT c.id FROM jobs c WHERE c.tenant_id = ?1 AND c.parent_id IN (SELECT id FROM page) AND c.parent_id IS NOT NULL)
  RETURNING id, batch_id AS batchId, parent_id AS parentId`;

/** The two statements of one page of a batch cancel, in this order (their answers: the closed waits, the cancelled rows). */
export const batchCancelPageStatements = (
  d1: D1Database,
  page: { tenant: string; batchId: string; after: string; size: number },
  now: number,
) =>
  [BATCH_CLOSE_WAITS, BATCH_CANCEL].map((sql) =>
    prepared(d1, sql).bind(page.tenant, page.batchId, now, page.size, page.after),
  );

export type BatchCancelledRow = { id: string; batchId: string | null; parentId: string | null };

/**
 * What the page's cancel answered: the batch's own jobs it cancelled, the children cancelled with them, and where the
 * next page starts: the page's `size`-th id (a child of another job in the batch, cancelled with its parent, may lie
 * past the page: the next page then reads a few finished rows again rather than skip any).
 */
export function batchCancelledOf(result: D1Result | undefined, batchId: string, size: number) {
  const rows = (result?.results ?? []) as BatchCancelledRow[];
  const own = rows.filter((r) => r.batchId === batchId);
  const ids = own.map((r) => r.id).sort();
  return { own, children: rows.filter((r) => r.batchId !== batchId), last: ids[Math.min(size, ids.length) - 1] ?? "" };
}
