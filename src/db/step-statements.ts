// Workflow step statements (job_steps): the lazy load, a run step's write, a park's rows, child completion and wakes.
import { getTableColumns, getTableName } from "drizzle-orm";
import { prepared } from "./consumer-statements";
import { type JobRow, type JobStepRow, jobs } from "./schema";

/** What a handler's re-run needs of each stored step. */
export type StoredStep = Pick<
  JobStepRow,
  "name" | "kind" | "status" | "result" | "error" | "wakeAt" | "eventName" | "eventKey" | "childId"
>;

const STEP_COLUMNS = `name, kind, status, result, error, wake_at AS wakeAt, event_name AS eventName,
  event_key AS eventKey, child_id AS childId`;

/** Every step of one job: one query over the primary key prefix (tenant, job). */
const LOAD = `SELECT ${STEP_COLUMNS} FROM job_steps WHERE tenant_id = ?1 AND job_id = ?2`;
const READ_ONE = `SELECT ${STEP_COLUMNS} FROM job_steps WHERE tenant_id = ?1 AND job_id = ?2 AND name = ?3`;

export async function loadSteps(d1: D1Database, tenant: string, jobId: string): Promise<StoredStep[]> {
  return (await prepared(d1, LOAD).bind(tenant, jobId).all<StoredStep>()).results;
}

/**
 * ?4 result JSON, ?5 startedAt, ?6 finishedAt. A run step is written once, when its fn resolves; a row another
 * delivery wrote first stays (its result is the step's), and a `failed` row is overwritten by the success.
 */
const SAVE_RUN = `INSERT INTO job_steps (tenant_id, job_id, name, kind, status, result, started_at, finished_at)
  VALUES (?1, ?2, ?3, 'run', 'succeeded', ?4, ?5, ?6)
  ON CONFLICT DO UPDATE SET status = 'succeeded', result = excluded.result, error = NULL,
    finished_at = excluded.finished_at WHERE job_steps.status = 'failed'`;

/** Writes a finished run step; answers the stored row when another delivery had already written it. */
export async function saveRunStep(
  d1: D1Database,
  key: { tenant: string; jobId: string; name: string },
  result: string,
  startedAt: number,
  finishedAt: number,
): Promise<StoredStep | null> {
  const written = await prepared(d1, SAVE_RUN)
    .bind(key.tenant, key.jobId, key.name, result, startedAt, finishedAt)
    .run();
  if ((written.meta?.changes ?? 0) > 0) return null;
  return prepared(d1, READ_ONE).bind(key.tenant, key.jobId, key.name).first<StoredStep>();
}

/** ?4 now. A sleep whose time has come, completed by the re-run that finds it so. */
const COMPLETE_SLEEP = `UPDATE job_steps SET status = 'succeeded', finished_at = ?4
  WHERE tenant_id = ?1 AND job_id = ?2 AND name = ?3 AND status = 'waiting'`;

export async function completeSleepStep(d1: D1Database, tenant: string, jobId: string, name: string, now: number) {
  await prepared(d1, COMPLETE_SLEEP).bind(tenant, jobId, name, now).run();
}

/** ?4 now. An event wait past its timeout: timed_out, unless an event completed it first (read back in the same batch). */
const TIME_OUT_EVENT = `UPDATE job_steps SET status = 'timed_out', result = 'null', finished_at = ?4
  WHERE tenant_id = ?1 AND job_id = ?2 AND name = ?3 AND status = 'waiting'`;

export async function timeOutEventStep(
  d1: D1Database,
  tenant: string,
  jobId: string,
  name: string,
  now: number,
): Promise<StoredStep | null> {
  const [, read] = await d1.batch<StoredStep>([
    prepared(d1, TIME_OUT_EVENT).bind(tenant, jobId, name, now),
    prepared(d1, READ_ONE).bind(tenant, jobId, name),
  ]);
  return read?.results[0] ?? null;
}

// ---- a park's statements (they ride in the consumer's outcome batch, after the job's park write) ----

/** The park write of this run landed: the job is waiting under this run token, updated at the park's time. */
const PARKED_BY_THIS_RUN = (tenant: string, id: string, token: string, at: string) =>
  `EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ${tenant} AND id = ${id} AND status = 'waiting'
    AND run_token = ${token} AND updated_at = ${at})`;

/** The error name of a wait the job's cancel closed: a retry by hand reopens such a step (a new park overwrites it). */
export const CANCELLED_WAIT = "JobCancelledError";

/** A new parked step: [name, kind, wakeAt, eventName, eventKey, childId]. */
export type ParkedStepRow = [
  string,
  "sleep" | "event" | "invoke",
  number | null,
  string | null,
  string | null,
  string | null,
];

/**
 * ?1 tenant, ?2 job, ?3 token, ?4 park time, ?5 JSON of ParkedStepRow. One statement for every step of the park; a
 * row is written once, except a wait the job's cancel closed, which the park of its retry by hand reopens.
 */
const INSERT_PARKED = `INSERT INTO job_steps (tenant_id, job_id, name, kind, status, started_at, wake_at, event_name,
  event_key, child_id)
  SELECT ?1, ?2, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'waiting', ?4, json_extract(value, '$[2]'),
    json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]')
  FROM json_each(?5) WHERE ${PARKED_BY_THIS_RUN("?1", "?2", "?3", "?4")}
  ON CONFLICT DO UPDATE SET status = 'waiting', result = NULL, error = NULL, started_at = excluded.started_at,
    finished_at = NULL, wake_at = excluded.wake_at, event_name = excluded.event_name, event_key = excluded.event_key,
    child_id = excluded.child_id
  WHERE job_steps.status = 'failed' AND json_extract(job_steps.error, '$.name') = '${CANCELLED_WAIT}'`;

export type ParkRef = { tenant: string; jobId: string; token: number; at: number };

export const insertParkedStepsStatement = (d1: D1Database, ref: ParkRef, steps: ParkedStepRow[]) =>
  prepared(d1, INSERT_PARKED).bind(ref.tenant, ref.jobId, ref.token, ref.at, JSON.stringify(steps));

const jobColumns = Object.entries(getTableColumns(jobs)).map(([key, column]) => ({
  key: key as keyof JobRow,
  name: column.name,
}));
/** ?1 tenant, ?2 parent, ?3 token, ?4 park time, ?5 JSON array of child rows (values in column order). */
const INSERT_CHILDREN = `INSERT INTO "${getTableName(jobs)}" (${jobColumns.map((c) => `"${c.name}"`).join(", ")})
  SELECT ${jobColumns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")}
  FROM json_each(?5) WHERE ${PARKED_BY_THIS_RUN("?1", "?2", "?3", "?4")}
  ON CONFLICT DO NOTHING`;
/** D1 bounds a statement's size: a park's children are split across statements of at most this many characters. */
const CHILDREN_MAX_CHARS = 90_000;

/** The children a park starts, inserted only if the park itself landed (all in the park's transaction). */
export function insertChildrenStatements(d1: D1Database, ref: ParkRef, children: JobRow[]): D1PreparedStatement[] {
  const chunks: string[][] = [];
  let chars = 0;
  for (const child of children) {
    const json = JSON.stringify(jobColumns.map(({ key }) => child[key] ?? null));
    let chunk = chunks[chunks.length - 1];
    if (!chunk || chars + json.length > CHILDREN_MAX_CHARS) {
      chunk = [];
      chunks.push(chunk);
      chars = 0;
    }
    chunk.push(json);
    chars += json.length + 1;
  }
  return chunks.map((chunk) =>
    prepared(d1, INSERT_CHILDREN).bind(ref.tenant, ref.jobId, ref.token, ref.at, `[${chunk.join(",")}]`),
  );
}

/** What a woken job's message needs. */
export type WokenJob = Pick<JobRow, "tenantId" | "id" | "runAt" | "queue">;

/** Back in line: the rule every wake follows (an event, a child, a park's re-check). outbox = 1 so the rescue re-sends. */
const WAKE_SET = `status = 'queued', run_at = ?NOW, outbox = 1, waiting_for = NULL, updated_at = ?NOW`;
const wakeSet = (now: string) => WAKE_SET.replaceAll("?NOW", now);

/**
 * ?1 tenant, ?2 job, ?3 token, ?4 park time, ?5 JSON names of the parked event steps, ?6 1 if the park waits on
 * children. A step that finished while the job was running (an event, a child) cannot wake a job that is not yet
 * waiting: the park checks again, last in its batch, and wakes the job itself.
 */
const RECHECK = `UPDATE jobs SET ${wakeSet("?4")}
  WHERE tenant_id = ?1 AND id = ?2 AND status = 'waiting' AND run_token = ?3 AND updated_at = ?4 AND (
    EXISTS (SELECT 1 FROM job_steps s WHERE s.tenant_id = ?1 AND s.job_id = ?2 AND s.kind = 'event'
      AND s.status <> 'waiting' AND s.name IN (SELECT value FROM json_each(?5)))
    OR (?6 = 1 AND NOT EXISTS (SELECT 1 FROM job_steps s WHERE s.tenant_id = ?1 AND s.job_id = ?2
      AND s.kind = 'invoke' AND s.status = 'waiting')))
  RETURNING tenant_id AS tenantId, id, run_at AS runAt, queue`;

export const recheckParkStatement = (d1: D1Database, ref: ParkRef, eventSteps: string[], waitsOnChildren: boolean) =>
  prepared(d1, RECHECK).bind(
    ref.tenant,
    ref.jobId,
    ref.token,
    ref.at,
    JSON.stringify(eventSteps),
    waitsOnChildren ? 1 : 0,
  );

// ---- child completion: the parent's invoke step, then the parent's wake once no child is left ----

/** A child job that reached a final status: [tenant, id, status, finishedAt]; the parent's step reads the rest. */
export type FinishedChild = {
  tenant: string;
  id: string;
  status: "succeeded" | "dead" | "cancelled";
  finishedAt: number;
};

/**
 * ?1 JSON of [tenant, child id, status, finishedAt]. The child's row must be in that final state (its outcome landed
 * in this same batch); the parent's invoke step gets its result, or its error as {message, name, childStatus}.
 */
const CHILD_STEPS_DONE = `UPDATE job_steps SET
    status = CASE WHEN c.status = 'succeeded' THEN 'succeeded' ELSE 'failed' END,
    result = CASE WHEN c.status = 'succeeded' THEN coalesce(c.result, 'null') ELSE NULL END,
    error = CASE WHEN c.status = 'succeeded' THEN NULL ELSE json_object(
      'message', coalesce(json_extract(c.error, '$.message'), 'the child job was ' || c.status),
      'name', coalesce(json_extract(c.error, '$.name'), 'Error'), 'childStatus', c.status) END,
    finished_at = c.finished_at
  FROM (SELECT j.tenant_id, j.id, j.parent_id, j.status, j.result, j.error, j.finished_at FROM json_each(?1) o
    JOIN jobs j ON j.tenant_id = json_extract(o.value, '$[0]') AND j.id = json_extract(o.value, '$[1]')
      AND j.status = json_extract(o.value, '$[2]') AND j.finished_at = json_extract(o.value, '$[3]')
    WHERE j.parent_id IS NOT NULL) AS c
  WHERE job_steps.tenant_id = c.tenant_id AND job_steps.job_id = c.parent_id AND job_steps.child_id = c.id
    AND job_steps.kind = 'invoke' AND job_steps.status = 'waiting'`;

/**
 * ?1 JSON of [tenant, child id], ?2 now. The children's parents waiting on children wake once: when no invoke step
 * of theirs is still waiting (in one transaction with the child outcomes, so the last child's commit wakes it).
 */
const WAKE_PARENTS = `UPDATE jobs SET ${wakeSet("?2")}
  WHERE (tenant_id, id) IN (SELECT c.tenant_id, c.parent_id FROM json_each(?1) o JOIN jobs c
      ON c.tenant_id = json_extract(o.value, '$[0]') AND c.id = json_extract(o.value, '$[1]') WHERE c.parent_id IS NOT NULL)
    AND status = 'waiting' AND json_extract(waiting_for, '$.kind') = 'invoke'
    AND NOT EXISTS (SELECT 1 FROM job_steps s WHERE s.tenant_id = jobs.tenant_id AND s.job_id = jobs.id
      AND s.kind = 'invoke' AND s.status = 'waiting')
  RETURNING tenant_id AS tenantId, id, run_at AS runAt, queue`;

/**
 * The statements that report finished children to their parents, in order (steps first, then the wakes), to run
 * after the children's outcome writes in the same batch (pass only jobs that have a parent: a plain job costs
 * nothing). The wake answers (RETURNING) the parents it woke: send each a message.
 */
export function childrenDoneStatements(
  d1: D1Database,
  children: FinishedChild[],
  now: number,
): { steps: D1PreparedStatement; wake: D1PreparedStatement } | null {
  if (children.length === 0) return null;
  return {
    steps: prepared(d1, CHILD_STEPS_DONE).bind(
      JSON.stringify(children.map((c) => [c.tenant, c.id, c.status, c.finishedAt])),
    ),
    wake: prepared(d1, WAKE_PARENTS).bind(JSON.stringify(children.map((c) => [c.tenant, c.id])), now),
  };
}

/**
 * ?1 tenant, ?2 job, ?3 now. A cancelled job's open waits are closed (failed), so no later event matches them and no
 * child completion looks for them: conditional on the job being cancelled at ?3 (by the same batch).
 */
const CLOSE_WAITS = `UPDATE job_steps SET status = 'failed', finished_at = ?3,
    error = json_object('message', 'the job was cancelled while waiting', 'name', '${CANCELLED_WAIT}')
  WHERE tenant_id = ?1 AND job_id = ?2 AND status = 'waiting'
    AND EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ?1 AND id = ?2 AND status = 'cancelled' AND finished_at = ?3)`;

export const closeWaitsStatement = (d1: D1Database, tenant: string, jobId: string, now: number) =>
  prepared(d1, CLOSE_WAITS).bind(tenant, jobId, now);

/** The rows a wake statement answered. */
export const wokenOf = (result: D1Result | undefined): WokenJob[] => (result?.results ?? []) as WokenJob[];
