// The tick's per-tenant sweeps as a fixed number of statements, whatever the tenant count: each reads one page of
// the tenants table after the sweep's cursor (sweep_cursors), in D1, so no statement binds a tenant list.
import type { JobRow } from "./schema";

export type SweepName = "rescue" | "prune";

/** A page of tenants after the sweep's cursor. Binds ?1 (sweep) and ?2 (page size); ?3 is the default rescue floor. */
const PAGE = `page AS (
  SELECT tenant_id, coalesce(rescue_from, ?3) AS floor FROM tenants
  WHERE tenant_id > coalesce((SELECT after FROM sweep_cursors WHERE sweep = ?1), '')
  ORDER BY tenant_id LIMIT ?2
)`;

export type StrandedRow = Pick<JobRow, "tenantId" | "id" | "status" | "runAt" | "queue">;

const STRANDED_COLUMNS = "j.tenant_id AS tenantId, j.id AS id, j.status AS status, j.run_at AS runAt, j.queue AS queue";

/** A finished job whose callback is pending and due (?4 cutoff ms, ?6 the same cutoff as an ISO string). */
const CALLBACK_DUE = `(j.status IN ('succeeded', 'dead')
  AND json_extract(j.callback_state, '$.status') = 'pending'
  AND coalesce(json_extract(j.callback_state, '$.nextAttemptAt'),
               strftime('%Y-%m-%dT%H:%M:%fZ', j.finished_at / 1000.0, 'unixepoch')) < ?6)`;

/** Queued past the grace period, running with a lapsed lease, or finished with a lost callback message. */
const STRANDED = `j.run_at <= ?4 AND ((j.status = 'queued' AND j.paused = 0) OR (j.status = 'running' AND j.lease_until < ?4) OR ${CALLBACK_DUE})`;

export type RescueScan = {
  /** The page's tenants, in order. */
  tenants: string[];
  /** Rows of the page's tenants from each one's rescue floor on (the primary key range; no index). */
  fresh: StrandedRow[];
  /** The page's flagged rows (outbox = 1) through jobs_outbox, whatever the age of their ids. */
  watched: StrandedRow[];
  /** Retrying jobs whose retry message is overdue, across tenants, through jobs_retrying. */
  retrying: StrandedRow[];
};

export type RescueScanOptions = { pageSize: number; cutoff: number; defaultFloor: string; limit: number };

/** One round trip of four statements. */
export async function scanForRescue(d1: D1Database, options: RescueScanOptions): Promise<RescueScan> {
  const { pageSize, cutoff, defaultFloor, limit } = options;
  const cutoffIso = new Date(cutoff).toISOString();
  const paged = (select: string) =>
    d1.prepare(`WITH ${PAGE} ${select}`).bind("rescue", pageSize, defaultFloor, cutoff, limit, cutoffIso);
  const [page, fresh, watched, retrying] = await d1.batch([
    d1
      .prepare(`WITH ${PAGE} SELECT tenant_id AS tenantId FROM page ORDER BY tenant_id`)
      .bind("rescue", pageSize, defaultFloor),
    paged(`SELECT ${STRANDED_COLUMNS} FROM page CROSS JOIN jobs j
      WHERE j.tenant_id = page.tenant_id AND j.id >= page.floor AND ${STRANDED} LIMIT ?5`),
    paged(`SELECT ${STRANDED_COLUMNS} FROM page CROSS JOIN jobs j INDEXED BY jobs_outbox
      WHERE j.tenant_id = page.tenant_id AND j.outbox = 1 AND ${STRANDED} LIMIT ?5`),
    d1
      .prepare(`SELECT ${STRANDED_COLUMNS} FROM jobs j INDEXED BY jobs_retrying
        WHERE j.status = 'retrying' AND j.run_at <= ?1 LIMIT ?2`)
      .bind(cutoff, limit),
  ]);
  const rows = (result: D1Result | undefined) => (result?.results ?? []) as StrandedRow[];
  return {
    tenants: ((page?.results ?? []) as { tenantId: string }[]).map((r) => r.tenantId),
    fresh: rows(fresh),
    watched: rows(watched),
    retrying: rows(retrying),
  };
}

/**
 * After a complete scan of a page: its tenants' rescue floors move up (only when `stale`, older than the floor
 * they would get by a margin, so a tenant's row is rewritten about once per margin, not once per tick).
 */
export const advanceRescueFloors = (d1: D1Database, first: string, last: string, floor: string, stale: string) =>
  d1
    .prepare(
      "UPDATE tenants SET rescue_from = ?3 WHERE tenant_id BETWEEN ?1 AND ?2 AND (rescue_from IS NULL OR rescue_from < ?4)",
    )
    .bind(first, last, floor, stale);

/** The sweep's next page starts after `after` ('' starts over); an unchanged cursor writes no row (one page of tenants). */
export const moveCursor = (d1: D1Database, sweep: SweepName, after: string, now: number) =>
  d1
    .prepare(
      `INSERT INTO sweep_cursors (sweep, after, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (sweep) DO UPDATE SET after = excluded.after, updated_at = excluded.updated_at
       WHERE after <> excluded.after`,
    )
    .bind(sweep, after, now);

export type PruneOptions = {
  pageSize: number;
  /** Succeeded and cancelled jobs finished before this go. */
  finishedBefore: number;
  /** Dead jobs finished before this go. */
  deadBefore: number;
  /** Jobs deleted per tenant per tick at most. */
  perTenant: number;
  /** Counter rows of minutes before this go. */
  countersBefore: number;
  now: number;
};

/**
 * One page of tenants pruned in one batch of four statements: at most `perTenant` finished jobs each with their steps (a
 * correlated LIMIT per tenant, over the primary key range of ids created before the later cutoff), their
 * old counter rows, and the cursor (moved past the page, or back to the start after the last page).
 * Answers how many jobs were deleted.
 */
export async function prunePage(d1: D1Database, idsBefore: string, options: PruneOptions): Promise<number> {
  const { pageSize, finishedBefore, deadBefore, perTenant, countersBefore, now } = options;
  const page = `WITH ${PAGE}`;
  const doomed = `SELECT p.tenant_id, j.id FROM page p, jobs j WHERE j.tenant_id = p.tenant_id AND j.id IN (
            SELECT k.id FROM jobs k WHERE k.tenant_id = p.tenant_id AND k.id < ?4 AND (
              (k.status IN ('succeeded', 'cancelled') AND k.finished_at < ?5) OR (k.status = 'dead' AND k.finished_at < ?6)
            )
            -- A running batch counts its jobs from their rows: they stay until it finishes, or it would never finish.
            AND (k.batch_id IS NULL OR NOT EXISTS (SELECT 1 FROM batches b
              WHERE b.tenant_id = k.tenant_id AND b.id = k.batch_id AND b.status = 'running'))
            LIMIT ?7)`;
  const [, deleted] = await d1.batch([
    // A workflow job's steps go with it (the same page of jobs, picked again in the same transaction, just before).
    d1
      .prepare(`${page} DELETE FROM job_steps WHERE (tenant_id, job_id) IN (${doomed})`)
      .bind("prune", pageSize, null, idsBefore, finishedBefore, deadBefore, perTenant),
    d1
      .prepare(`${page} DELETE FROM jobs WHERE (tenant_id, id) IN (${doomed})`)
      .bind("prune", pageSize, null, idsBefore, finishedBefore, deadBefore, perTenant),
    d1
      .prepare(`${page} DELETE FROM metrics_minute WHERE tenant_id IN (SELECT tenant_id FROM page) AND minute < ?4`)
      .bind("prune", pageSize, null, countersBefore),
    d1
      .prepare(
        `${page} INSERT INTO sweep_cursors (sweep, after, updated_at)
         SELECT ?1, CASE WHEN count(*) < ?2 THEN '' ELSE max(tenant_id) END, ?4 FROM page WHERE true
         ON CONFLICT (sweep) DO UPDATE SET after = excluded.after, updated_at = excluded.updated_at
         WHERE after <> excluded.after`,
      )
      .bind("prune", pageSize, null, now),
  ]);
  return deleted?.meta.changes ?? 0;
}
