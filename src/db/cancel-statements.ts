// Cancel with its cascade: the job, its children that are not running or finished, in one transaction.
import { getTableColumns } from "drizzle-orm";
import { CANCELLABLE } from "../core/state";
import { prepared } from "./consumer-statements";
import { type JobRow, jobs } from "./schema";

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
