// SQL of events (POST /v1/events, the lookback at park time, the tick's prune): texts built once, prepared once per D1 binding.
import { prepared } from "./consumer-statements";

/**
 * ?1 tenant, ?2 event name, ?3 event key (null: the event has none), ?5 page size. The open waits this event
 * completes: waits that named no key, then waits that named this key (none when the event has no key). Each arm
 * is an equality lookup on job_steps_waiting_events (INDEXED BY: without statistics SQLite would walk the tenant's
 * primary key range instead), so waits on other keys of the same name are never read.
 */
const MATCH = `SELECT tenant_id, job_id, name FROM (
    SELECT tenant_id, job_id, name FROM job_steps INDEXED BY job_steps_waiting_events
      WHERE tenant_id = ?1 AND event_name = ?2 AND event_key IS NULL AND status = 'waiting' AND kind = 'event'
    UNION ALL
    SELECT tenant_id, job_id, name FROM job_steps INDEXED BY job_steps_waiting_events
      WHERE tenant_id = ?1 AND event_name = ?2 AND event_key = ?3 AND status = 'waiting' AND kind = 'event'
  ) LIMIT ?5`;

const INSERT_EVENT = `INSERT INTO events (tenant_id, id, name, key, data, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`;

/**
 * One page of wakes, first half (?4 now): the jobs of the page's waits that are parked go back to the queue, watched by
 * the outbox index so the tick re-sends a message whose send fails. It runs before WAKE_STEPS, which flips the same
 * page: the same MATCH over job_steps nothing changed in between picks the same rows (one transaction, one plan).
 * A wait whose job is not parked (a re-run after its timeout, in flight) still gets the data: that re-run reads it.
 */
const WAKE_JOBS = `UPDATE jobs SET status = 'queued', run_at = ?4, outbox = 1, waiting_for = NULL, updated_at = ?4
  WHERE tenant_id = ?1 AND status = 'waiting' AND id IN (SELECT job_id FROM (${MATCH}))
  RETURNING tenant_id AS tenantId, id, run_at AS runAt, queue`;

/** Second half (?4 now, ?6 the data JSON): the page's waits succeed with the event's data as their result. */
const WAKE_STEPS = `UPDATE job_steps SET status = 'succeeded', result = ?6, finished_at = ?4
  WHERE (tenant_id, job_id, name) IN (${MATCH})`;

/** Whether any wait is still open for this event (asked only after a call reached its cap). */
const MORE = `SELECT EXISTS (${MATCH}) AS more`;

/** `data` is the event's JSON text, null when it carried none (its waits then get the result null). */
export type EventRecord = {
  tenant: string;
  id: string;
  name: string;
  key: string | null;
  data: string | null;
  now: number;
};

export const insertEventStatement = (d1: D1Database, event: EventRecord) =>
  prepared(d1, INSERT_EVENT).bind(event.tenant, event.id, event.name, event.key, event.data, event.now);

/** The two statements of one page of up to `pageSize` waits; run them in this order, in one batch. */
export function wakePageStatements(
  d1: D1Database,
  event: EventRecord,
  pageSize: number,
): [D1PreparedStatement, D1PreparedStatement] {
  return [
    prepared(d1, WAKE_JOBS).bind(event.tenant, event.name, event.key, event.now, pageSize),
    prepared(d1, WAKE_STEPS).bind(event.tenant, event.name, event.key, event.now, pageSize, event.data ?? "null"),
  ];
}

export const moreWaitingStatement = (d1: D1Database, event: EventRecord) =>
  prepared(d1, MORE).bind(event.tenant, event.name, event.key, null, 1);

export type WokenJob = { tenantId: string; id: string; runAt: number; queue: string };

/**
 * The first event of ?1 the tenant received since `p.since` (placeholders) named `p.name` that a wait on `p.key`
 * would have matched. Two texts, chosen by whether the wait named a key: a keyed wait is one
 * range probe of events_recent (tenant, name, key, received_at); a keyless one reads the name's events of the last
 * minutes (the table holds no more) and takes the oldest. `(?3 IS NULL OR key = ?3)` in one text would make SQLite
 * walk the tenant's primary key instead.
 */
const recentEvent = (keyed: boolean, columns: string, p: { name: string; key: string; since: string }) =>
  `SELECT ${columns} FROM events INDEXED BY events_recent
    WHERE tenant_id = ?1 AND name = ${p.name} AND ${keyed ? `key = ${p.key} AND ` : ""}received_at >= ${p.since}
    ORDER BY received_at, id LIMIT 1`;

/** ?1 tenant, ?2 name, ?3 key the wait named (null: any key; then unused), ?4 since (now - EVENT_LOOKBACK_MS). */
const LOOKUP_PARAMS = { name: "?2", key: "?3", since: "?4" };
const LOOKUP_RECENT = {
  keyed: recentEvent(true, "id, data, received_at AS receivedAt", LOOKUP_PARAMS),
  any: recentEvent(false, "id, data, received_at AS receivedAt", LOOKUP_PARAMS),
};

export type RecentEventRow = { id: string; data: string | null; receivedAt: number };

/**
 * For the engine at park time (bind it in the park's batch, after the waiting step's insert): the event a new wait
 * gets at once. `data` is the event's JSON text (null when the event carried none: the step's result is then null).
 */
export const lookupRecentEventStatement = (
  d1: D1Database,
  tenant: string,
  name: string,
  key: string | null,
  since: number,
) => prepared(d1, key === null ? LOOKUP_RECENT.any : LOOKUP_RECENT.keyed).bind(tenant, name, key, since);

/**
 * ?1 tenant, ?2 job id, ?3 step name, ?4 event name, ?5 the key the wait named (null: any key; then unused), ?6 since,
 * ?7 now. The same lookup as a write: a waiting event step that an event received since `since`
 * matches succeeds at once with that event's data (the first one of the window; 'null' when it carried none).
 * RETURNING says whether it did.
 */
const completeFromRecent = (keyed: boolean) =>
  `UPDATE job_steps SET status = 'succeeded', result = coalesce(e.data, 'null'), finished_at = ?7
  FROM (${recentEvent(keyed, "data", { name: "?4", key: "?5", since: "?6" })}) AS e
  WHERE job_steps.tenant_id = ?1 AND job_steps.job_id = ?2 AND job_steps.name = ?3 AND job_steps.status = 'waiting'
  RETURNING job_steps.result AS result`;

const COMPLETE_FROM_RECENT = { keyed: completeFromRecent(true), any: completeFromRecent(false) };

export type WaitRef = {
  tenant: string;
  jobId: string;
  step: string;
  event: string;
  key: string | null;
  since: number;
  now: number;
};

/**
 * For the engine's park batch, right after the waiting event step's insert (one transaction, so an event committed
 * before it is found here and one committed after it finds the step): completes the step from a recent event.
 */
export const completeFromRecentEventStatement = (d1: D1Database, wait: WaitRef) =>
  prepared(d1, wait.key === null ? COMPLETE_FROM_RECENT.any : COMPLETE_FROM_RECENT.keyed).bind(
    wait.tenant,
    wait.jobId,
    wait.step,
    wait.event,
    wait.key,
    wait.since,
    wait.now,
  );

/**
 * ?1 cutoff, ?2 page. The table only holds a few minutes of events, so the scan for old ones reads little; a backlog
 * beyond one page goes on the next tick.
 */
const PRUNE = `DELETE FROM events WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM events WHERE received_at < ?1 LIMIT ?2)`;

export const pruneEventsStatement = (d1: D1Database, before: number, page: number) =>
  prepared(d1, PRUNE).bind(before, page);

/** Every text above, for the test that reads their query plans (each must stay on its index). */
export const EVENT_SQL = {
  insert: INSERT_EVENT,
  wakeJobs: WAKE_JOBS,
  wakeSteps: WAKE_STEPS,
  more: MORE,
  lookupKeyed: LOOKUP_RECENT.keyed,
  lookupAny: LOOKUP_RECENT.any,
  completeKeyed: COMPLETE_FROM_RECENT.keyed,
  completeAny: COMPLETE_FROM_RECENT.any,
  prune: PRUNE,
};
