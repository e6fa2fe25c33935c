// Paused job types (paused_types, per tenant) and the jobs they hold (jobs.paused = 1): every statement of the pause.
import { prepared } from "./consumer-statements";

/** The tenant's paused types. */
export async function pausedTypesOf(d1: D1Database, tenant: string): Promise<Set<string>> {
  const { results } = await d1
    .prepare("SELECT type FROM paused_types WHERE tenant_id = ?1")
    .bind(tenant)
    .all<{ type: string }>();
  return new Set(results.map((r) => r.type));
}

/** Pausing a paused type changes nothing (and writes no row): the first pause's time stands. */
export const pauseStatement = (d1: D1Database, tenant: string, type: string, now: number) =>
  d1
    .prepare("INSERT INTO paused_types (tenant_id, type, paused_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")
    .bind(tenant, type, now);

export const unpauseStatement = (d1: D1Database, tenant: string, type: string) =>
  d1.prepare("DELETE FROM paused_types WHERE tenant_id = ?1 AND type = ?2").bind(tenant, type);

const STILL_PAUSED = (tenant: string, type: string) =>
  `EXISTS (SELECT 1 FROM paused_types p WHERE p.tenant_id = ${tenant} AND p.type = ${type})`;

/**
 * The consumer's hold, one statement per batch: ?1 is a JSON array of [tenant, id, attempts, runToken, status]
 * as the consumer read each row, ?2 now. A job whose type is paused for its tenant right now (the same
 * statement checks paused_types, so no resume can slip between a read and the write) is parked: paused = 1,
 * status queued (a retrying job's backoff has passed; a due waiting workflow job's wait is over, triage lets no
 * other through; a lapsed running claim is given up), no lease, and off
 * the outbox index, since it has no message to lose. It lands only on the row as read. The first hold adds a
 * deferral entry to the attempt log (?3 is now as ISO text), so the job says why it waits; a redelivery's hold
 * adds none. RETURNING names the held jobs; every other job goes on through the gate. A batch with nothing paused
 * writes no row.
 */
const HOLD = `UPDATE jobs SET paused = 1, status = 'queued', lease_until = NULL, outbox = 0, waiting_for = NULL,
    updated_at = ?2,
    attempt_log = CASE WHEN jobs.paused = 0 THEN json_insert(jobs.attempt_log, '$[#]', json_object(
      'attempt', jobs.attempts + 1, 'startedAt', ?3, 'finishedAt', ?3, 'durationMs', 0, 'outcome', 'deferred',
      'error', json_object('name', 'TypePaused',
        'message', 'job type "' || jobs.type || '" is paused: the job waits, queued, until it is resumed')))
      ELSE jobs.attempt_log END
  FROM (SELECT ${["tenant", "id", "attempts", "token", "status"]
    .map((name, i) => `json_extract(value, '$[${i}]') AS ${name}`)
    .join(", ")} FROM json_each(?1)) AS o
  WHERE jobs.tenant_id = o.tenant AND jobs.id = o.id AND jobs.attempts = o.attempts
  AND jobs.run_token = o.token AND jobs.status = o.status
  AND (jobs.status IN ('queued', 'retrying', 'waiting') OR (jobs.status = 'running' AND jobs.lease_until < ?2))
  AND ${STILL_PAUSED("jobs.tenant_id", "jobs.type")}
  RETURNING jobs.tenant_id AS tenant, jobs.id AS id`;

export type HoldKey = { tenantId: string; id: string; attempts: number; runToken: number; status: string };

/** Rows per hold statement: ~80 bytes of JSON each, far under D1's statement size. */
export const HOLDS_PER_STATEMENT = 100;

export const holdStatement = (d1: D1Database, rows: readonly HoldKey[], now: number) =>
  prepared(d1, HOLD).bind(
    JSON.stringify(rows.map((r) => [r.tenantId, r.id, r.attempts, r.runToken, r.status])),
    now,
    new Date(now).toISOString(),
  );

export type ReleasedRow = { tenantId: string; id: string; status: string; runAt: number; queue: string };

/**
 * One page of a type's held jobs let go (?1 tenant, ?2 type, ?3 page size, ?4 now, ?5 the oldest id the
 * tick's fresh-id rescue still reaches in time): unless the type is paused again, each goes back to
 * paused = 0; a queued one is due now (or later, when a debounce pushed its start while it was held), and one
 * whose id is too old for the fresh-id scan, or that is due later, is watched by the outbox index, so a lost
 * message is re-sent. Jobs cancelled while held are only unflagged.
 */
const RELEASE_PAGE = `UPDATE jobs SET paused = 0, updated_at = ?4,
    run_at = CASE WHEN status = 'queued' THEN max(run_at, ?4) ELSE run_at END,
    outbox = CASE WHEN status = 'queued' AND (id < ?5 OR run_at > ?4) THEN 1 ELSE outbox END
  WHERE tenant_id = ?1 AND type = ?2 AND paused = 1 AND id IN (
    SELECT id FROM jobs INDEXED BY jobs_paused WHERE tenant_id = ?1 AND type = ?2 AND paused = 1 ORDER BY id LIMIT ?3)
  AND NOT ${STILL_PAUSED("?1", "?2")}
  RETURNING tenant_id AS tenantId, id, status, run_at AS runAt, queue`;

export const releasePageStatement = (
  d1: D1Database,
  page: { tenant: string; type: string; size: number; now: number; watchBelow: string },
) => d1.prepare(RELEASE_PAGE).bind(page.tenant, page.type, page.size, page.now, page.watchBelow);

/**
 * (tenant, type) pairs that still have held jobs but are no longer paused: what a resume left for the tick.
 * A skip-scan of jobs_paused (one index seek per distinct pair, not one read per held job), so jobs held
 * by a type that stays paused cost the tick a read per pair, not per job.
 */
const RELEASABLE = `WITH RECURSIVE pairs(k) AS (
    SELECT (SELECT json_array(tenant_id, type) FROM jobs INDEXED BY jobs_paused WHERE paused = 1
      ORDER BY tenant_id, type LIMIT 1)
    UNION ALL
    SELECT (SELECT json_array(j.tenant_id, j.type) FROM jobs j INDEXED BY jobs_paused WHERE j.paused = 1
      AND (j.tenant_id, j.type) > (json_extract(pairs.k, '$[0]'), json_extract(pairs.k, '$[1]'))
      ORDER BY j.tenant_id, j.type LIMIT 1)
    FROM pairs WHERE pairs.k IS NOT NULL LIMIT ?2
  )
  SELECT json_extract(k, '$[0]') AS tenant, json_extract(k, '$[1]') AS type FROM pairs
  WHERE k IS NOT NULL AND NOT ${STILL_PAUSED("json_extract(k, '$[0]')", "json_extract(k, '$[1]')")}
  LIMIT ?1`;

/** Up to `limit` releasable pairs, looking at no more than `scanPairs` distinct held pairs. */
export async function releasablePairs(
  d1: D1Database,
  limit: number,
  scanPairs: number,
): Promise<{ tenant: string; type: string }[]> {
  const { results } = await d1.prepare(RELEASABLE).bind(limit, scanPairs).all<{ tenant: string; type: string }>();
  return results;
}
