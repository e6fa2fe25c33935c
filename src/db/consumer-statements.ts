// The consumer's hot statements: SQL text built once from the drizzle schema's names, only bound per row.
import { getTableColumns, getTableName } from "drizzle-orm";
import { needsWatch } from "../core/rescue-window";
import { type JobRow, jobs } from "./schema";

type JobColumn = keyof JobRow;
const columns = getTableColumns(jobs);
const col = (key: JobColumn) => `"${columns[key].name}"`;
const JOBS = `"${getTableName(jobs)}"`;

/** Every column under its JobRow name, so a raw row is a JobRow as drizzle would answer it. */
const SELECT_ROW = (Object.keys(columns) as JobColumn[]).map((key) => `${col(key)} AS "${key}"`).join(", ");

/**
 * One statement per tenant: the ids travel as one JSON parameter (json_each), so D1's 100 bound
 * parameters never limit a batch, and the lookup stays on the primary key.
 */
const LOAD = `SELECT ${SELECT_ROW}, EXISTS (SELECT 1 FROM paused_types p WHERE p.tenant_id = ${JOBS}.${col("tenantId")}
  AND p.type = ${JOBS}.${col("type")}) AS "typePaused"
  FROM ${JOBS} WHERE ${col("tenantId")} = ?1 AND ${col("id")} IN (SELECT value FROM json_each(?2))`;

/** A row as the consumer loads it: with whether its type was paused for its tenant at load (a primary key probe). */
export type LoadedRow = JobRow & { typePaused: number };

export type JobKey = { tenant: string; id: string };

const preparedByDb = new WeakMap<D1Database, Map<string, D1PreparedStatement>>();

/** Each SQL text is prepared once per D1 binding (one per invocation) and only bound per row after that. */
export function prepared(d1: D1Database, sql: string): D1PreparedStatement {
  let statements = preparedByDb.get(d1);
  if (!statements) {
    statements = new Map();
    preparedByDb.set(d1, statements);
  }
  let statement = statements.get(sql);
  if (!statement) {
    statement = d1.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

/** The rows of these jobs in one round trip; missing jobs are simply absent. */
export async function loadJobRows(d1: D1Database, keys: readonly JobKey[]): Promise<LoadedRow[]> {
  const byTenant = new Map<string, string[]>();
  for (const { tenant, id } of keys) {
    const ids = byTenant.get(tenant);
    if (ids) ids.push(id);
    else byTenant.set(tenant, [id]);
  }
  if (byTenant.size === 0) return [];
  const statement = prepared(d1, LOAD);
  const results = await d1.batch<LoadedRow>(
    [...byTenant].map(([tenant, ids]) => statement.bind(tenant, JSON.stringify(ids))),
  );
  return results.flatMap((result) => result.results);
}

/**
 * One attempt as the consumer runs it: which run (`token`) and attempt it is, when it started, and
 * whether its claim (status running, with a lease) is in D1. A fast job is never claimed.
 */
export type AttemptRef = {
  tenant: string;
  id: string;
  attempt: number;
  token: number;
  startedAt: number;
  claimed: boolean;
};

/** A job an attempt may start from; `waiting` is a parked workflow job, runnable once due (triage checks runAt). */
const OPEN_STATUSES = "'queued', 'retrying', 'waiting'";
const OPEN = `${col("status")} IN (${OPEN_STATUSES})`;
const LAPSED = (leaseParam: string) => `(${col("status")} = 'running' AND ${col("leaseUntil")} < ${leaseParam})`;

/**
 * ?1 tenant, ?2 id, ?3 attempt, ?4 run token, ?5 startedAt, ?6 now. A claim wins only from the state the
 * consumer read (same attempt count and run) or over a running claim whose lease has lapsed.
 */
const CLAIM = `UPDATE ${JOBS} SET ${col("status")} = 'running', ${col("attempts")} = ?3, ${col("startedAt")} = ?5,
  ${col("updatedAt")} = ?6, ${col("leaseUntil")} = ?7, ${col("waitingFor")} = NULL
  WHERE ${col("tenantId")} = ?1 AND ${col("id")} = ?2 AND ${col("attempts")} = ?3 - 1 AND ${col("runToken")} = ?4
  AND (${OPEN} OR ${LAPSED("?6")})`;

export const claimStatement = (d1: D1Database, ref: AttemptRef, now: number, leaseUntil: number) =>
  prepared(d1, CLAIM).bind(ref.tenant, ref.id, ref.attempt, ref.token, ref.startedAt, now, leaseUntil);

/**
 * A wave's claims in one statement: [tenant, id, attempt, token, startedAt, leaseUntil] per job as one JSON
 * parameter, each under the same rule as a single claim (now is ?2). RETURNING names the claims won.
 */
const CLAIM_MANY = `UPDATE ${JOBS} SET ${col("status")} = 'running', ${col("attempts")} = o.attempt,
  ${col("startedAt")} = o.started, ${col("updatedAt")} = ?2, ${col("leaseUntil")} = o.lease, ${col("waitingFor")} = NULL
  FROM (SELECT ${["tenant", "id", "attempt", "token", "started", "lease"]
    .map((name, i) => `json_extract(value, '$[${i}]') AS ${name}`)
    .join(", ")} FROM json_each(?1)) AS o
  WHERE ${JOBS}.${col("tenantId")} = o.tenant AND ${JOBS}.${col("id")} = o.id
  AND ${JOBS}.${col("attempts")} = o.attempt - 1 AND ${JOBS}.${col("runToken")} = o.token
  AND (${JOBS}.${col("status")} IN (${OPEN_STATUSES}) OR (${JOBS}.${col("status")} = 'running' AND ${JOBS}.${col("leaseUntil")} < ?2))
  RETURNING ${JOBS}.${col("tenantId")} AS tenant, ${JOBS}.${col("id")} AS id`;

/** Claims rows are small: 100 per statement stays far under D1's statement size. */
const CLAIMS_PER_STATEMENT = 100;

/** The statements that claim these attempts, each with the items it carries; `leaseUntil(item)` per job. */
export function claimManyStatements<T>(
  d1: D1Database,
  items: readonly T[],
  claimOf: (item: T) => { ref: AttemptRef; leaseUntil: number },
  now: number,
): { statement: D1PreparedStatement; items: T[] }[] {
  const statements: { statement: D1PreparedStatement; items: T[] }[] = [];
  for (let i = 0; i < items.length; i += CLAIMS_PER_STATEMENT) {
    const chunk = items.slice(i, i + CLAIMS_PER_STATEMENT);
    const json = chunk.map((item) => {
      const { ref, leaseUntil } = claimOf(item);
      return [ref.tenant, ref.id, ref.attempt, ref.token, ref.startedAt, leaseUntil];
    });
    statements.push({ statement: prepared(d1, CLAIM_MANY).bind(JSON.stringify(json), now), items: chunk });
  }
  return statements;
}

/**
 * Outcome writes land only on the attempt they belong to: the claim it holds, or, unclaimed, the state
 * the consumer read. Both check the run token, so a cancel + retry by hand meanwhile drops the outcome.
 */
const OWN_CLAIMED = `${col("tenantId")} = ?1 AND ${col("id")} = ?2 AND ${col("status")} = 'running' AND ${col("attempts")} = ?3 AND ${col("runToken")} = ?4`;
const OWN_UNCLAIMED = `${col("tenantId")} = ?1 AND ${col("id")} = ?2 AND ${col("attempts")} = ?3 - 1 AND ${col("runToken")} = ?4 AND (${OPEN} OR ${LAPSED("?5")})`;
const ATTEMPT_SET = `${col("attempts")} = ?3, ${col("startedAt")} = ?5, ${col("updatedAt")} = ?6, ${col("leaseUntil")} = NULL, ${col("outbox")} = 0, ${col("waitingFor")} = NULL`;

const outcomeSql = (set: string) => ({
  claimed: `UPDATE ${JOBS} SET ${ATTEMPT_SET}, ${set} WHERE ${OWN_CLAIMED}`,
  unclaimed: `UPDATE ${JOBS} SET ${ATTEMPT_SET}, ${set} WHERE ${OWN_UNCLAIMED}`,
});
/** ?7 result, ?8 progress. */
const SUCCEED = outcomeSql(
  `${col("status")} = 'succeeded', ${col("result")} = ?7, ${col("progress")} = ?8, ${col("finishedAt")} = ?6`,
);
/** ?7 error, ?8 attempt log, ?9 runAt, ?10 progress. */
const RETRY = outcomeSql(
  `${col("status")} = 'retrying', ${col("error")} = ?7, ${col("attemptLog")} = ?8, ${col("runAt")} = ?9, ${col("progress")} = ?10`,
);
/** ?7 error, ?8 attempt log, ?9 progress. */
const DEAD = outcomeSql(
  `${col("status")} = 'dead', ${col("error")} = ?7, ${col("attemptLog")} = ?8, ${col("progress")} = ?9, ${col("finishedAt")} = ?6`,
);

/**
 * ?7 waitingFor JSON, ?8 runAt (the earliest wake), ?9 progress, ?10 watch. A park: the job waits (no lease, no
 * attempt spent: attempts go back to what they were before this one), under the same own-attempt rule as outcomes.
 * `watch` (outbox = 1) marks a park whose wake is too far for a queue delay: the tick releases it when due.
 * The run token moves on (PARK_TOKEN_STEP): a delivery that read the row before this park can neither claim the job
 * nor land a park of its own (attempts are back to the same count, so only the token tells the runs apart).
 */
/** A landed park's run token is the run's own plus this (its step rows and children are written under it). */
export const PARK_TOKEN_STEP = 1;
const PARK_SET = `${col("runToken")} = ${col("runToken")} + ${PARK_TOKEN_STEP}, ${col("attempts")} = ?3 - 1, ${col("startedAt")} = ?5, ${col("updatedAt")} = ?6, ${col("leaseUntil")} = NULL,
  ${col("status")} = 'waiting', ${col("waitingFor")} = ?7, ${col("runAt")} = ?8, ${col("progress")} = ?9, ${col("outbox")} = ?10`;
const PARK = {
  claimed: `UPDATE ${JOBS} SET ${PARK_SET} WHERE ${OWN_CLAIMED}`,
  unclaimed: `UPDATE ${JOBS} SET ${PARK_SET} WHERE ${OWN_UNCLAIMED}`,
};

/** What an attempt's outcome writes; settle decides it, commit binds it. */
export type OutcomeWrite =
  | { kind: "succeed"; ref: AttemptRef; at: number; result: string; progress: number | null }
  | {
      kind: "retry";
      ref: AttemptRef;
      at: number;
      error: string;
      attemptLog: string;
      runAt: number;
      progress: number | null;
    }
  | { kind: "dead"; ref: AttemptRef; at: number; error: string; attemptLog: string; progress: number | null };

export type ParkWrite = {
  kind: "park";
  ref: AttemptRef;
  at: number;
  waitingFor: string;
  runAt: number;
  progress: number | null;
  watch: boolean;
};

export function outcomeStatement(d1: D1Database, write: OutcomeWrite): D1PreparedStatement {
  const { ref, at } = write;
  const own = [ref.tenant, ref.id, ref.attempt, ref.token, ref.startedAt, at] as const;
  const variant = ref.claimed ? "claimed" : "unclaimed";
  switch (write.kind) {
    case "succeed":
      return prepared(d1, SUCCEED[variant]).bind(...own, write.result, write.progress);
    case "retry":
      return prepared(d1, RETRY[variant]).bind(...own, write.error, write.attemptLog, write.runAt, write.progress);
    case "dead":
      return prepared(d1, DEAD[variant]).bind(...own, write.error, write.attemptLog, write.progress);
  }
}

export const parkStatement = (d1: D1Database, write: ParkWrite): D1PreparedStatement => {
  const { ref, at } = write;
  return prepared(d1, PARK[ref.claimed ? "claimed" : "unclaimed"]).bind(
    ref.tenant,
    ref.id,
    ref.attempt,
    ref.token,
    ref.startedAt,
    at,
    write.waitingFor,
    write.runAt,
    write.progress,
    write.watch ? 1 : 0,
  );
};

/**
 * Every success of a wave in one statement: the outcomes travel as one JSON parameter (an array of
 * [tenant, id, attempt, token, startedAt, at, result, progress, claimed]), each matched on the primary key
 * under the same own-attempt rule as the single-row writes. RETURNING names the rows that landed.
 */
const SUCCEED_MANY = `UPDATE ${JOBS} SET ${col("status")} = 'succeeded', ${col("attempts")} = o.attempt,
  ${col("startedAt")} = o.started, ${col("updatedAt")} = o.at, ${col("leaseUntil")} = NULL, ${col("outbox")} = 0,
  ${col("waitingFor")} = NULL, ${col("result")} = o.result, ${col("progress")} = o.progress, ${col("finishedAt")} = o.at
  FROM (SELECT ${["tenant", "id", "attempt", "token", "started", "at", "result", "progress", "claimed"]
    .map((name, i) => `json_extract(value, '$[${i}]') AS ${name}`)
    .join(", ")} FROM json_each(?1)) AS o
  WHERE ${JOBS}.${col("tenantId")} = o.tenant AND ${JOBS}.${col("id")} = o.id AND ${JOBS}.${col("runToken")} = o.token
  AND CASE WHEN o.claimed = 1 THEN ${JOBS}.${col("status")} = 'running' AND ${JOBS}.${col("attempts")} = o.attempt
    ELSE ${JOBS}.${col("attempts")} = o.attempt - 1 AND (${JOBS}.${col("status")} IN (${OPEN_STATUSES})
      OR (${JOBS}.${col("status")} = 'running' AND ${JOBS}.${col("leaseUntil")} < o.started)) END
  RETURNING ${JOBS}.${col("tenantId")} AS tenant, ${JOBS}.${col("id")} AS id`;

/** A wave's successes per statement: D1 bounds a statement's size, so a large batch of results is split. */
const SUCCEED_MANY_MAX_CHARS = 90_000;

export type SucceedWrite = Extract<OutcomeWrite, { kind: "succeed" }>;

/** The statements that record these successes, each with the items whose writes it carries. */
export function succeedManyStatements<T>(
  d1: D1Database,
  items: readonly T[],
  writeOf: (item: T) => SucceedWrite,
): { statement: D1PreparedStatement; items: T[] }[] {
  const chunks: { json: string[]; items: T[]; chars: number }[] = [];
  for (const item of items) {
    const write = writeOf(item);
    const { ref } = write;
    const json = JSON.stringify([
      ref.tenant,
      ref.id,
      ref.attempt,
      ref.token,
      ref.startedAt,
      write.at,
      write.result,
      write.progress,
      ref.claimed ? 1 : 0,
    ]);
    let chunk = chunks[chunks.length - 1];
    if (!chunk || chunk.chars + json.length > SUCCEED_MANY_MAX_CHARS) {
      chunk = { json: [], items: [], chars: 0 };
      chunks.push(chunk);
    }
    chunk.json.push(json);
    chunk.items.push(item);
    chunk.chars += json.length + 1;
  }
  return chunks.map((chunk) => ({
    statement: prepared(d1, SUCCEED_MANY).bind(`[${chunk.json.join(",")}]`),
    items: chunk.items,
  }));
}

/** The keys a RETURNING tenant, id statement answered. */
export const returnedKeys = (result: D1Result) =>
  new Set((result.results as { tenant: string; id: string }[]).map((row) => `${row.tenant}/${row.id}`));

/** The row as the consumer read it: a write made without running an attempt lands only if it has not changed since. */
export type ReadState = Pick<JobRow, "tenantId" | "id" | "attempts" | "runToken" | "status">;
const AS_READ = `${col("tenantId")} = ?1 AND ${col("id")} = ?2 AND ${col("attempts")} = ?3 AND ${col("runToken")} = ?4 AND ${col("status")} = ?5`;
const asRead = (row: ReadState) => [row.tenantId, row.id, row.attempts, row.runToken, row.status] as const;

/** ?6 error, ?7 now. Dead without an attempt of this consumer's: unknown type, attempts used up, given up on. */
const DEAD_LETTER = `UPDATE ${JOBS} SET ${col("status")} = 'dead', ${col("error")} = ?6, ${col("finishedAt")} = ?7,
  ${col("updatedAt")} = ?7, ${col("leaseUntil")} = NULL, ${col("outbox")} = 0
  WHERE ${AS_READ} AND ${col("status")} IN ('queued', 'running', 'retrying', 'waiting')`;

export const deadLetterStatement = (d1: D1Database, row: ReadState, error: string, now: number) =>
  prepared(d1, DEAD_LETTER).bind(...asRead(row), error, now);

/** Sets the outbox flag when ?N is 1 (the row must be watched by index: see needsWatch), else leaves it. */
const WATCH = (param: string) => `${col("outbox")} = CASE WHEN ${param} = 1 THEN 1 ELSE ${col("outbox")} END`;

/**
 * ?6 runAt, ?7 attempt log, ?8 now, ?9 watch. A flow deferral: runAt moves to when the job comes back, so the
 * tick's rescue does not take a long wait for a lost message; a wait that takes the job past the fresh-id
 * rescue window also flags it. The status stays. One row, no index row for a fresh job.
 */
const DEFER = `UPDATE ${JOBS} SET ${col("runAt")} = ?6, ${col("attemptLog")} = ?7, ${col("updatedAt")} = ?8, ${WATCH("?9")}
  WHERE ${AS_READ} AND ${OPEN}`;

export const deferStatement = (d1: D1Database, row: ReadState, attemptLog: string, runAt: number, now: number) =>
  prepared(d1, DEFER).bind(...asRead(row), runAt, attemptLog, now, needsWatch(row.id, runAt) ? 1 : 0);

/**
 * ?6 attempt log, ?7 now. Puts a job the queue gave up on back in line: watched by the outbox index
 * (and due now), so the tick's rescue re-sends it if the consumer's own re-send is lost too.
 */
const REQUEUE_WATCHED = `UPDATE ${JOBS} SET ${col("outbox")} = 1, ${col("runAt")} = ?7, ${col("updatedAt")} = ?7,
  ${col("attemptLog")} = ?6 WHERE ${AS_READ} AND ${col("status")} IN ('queued', 'running', 'retrying')`;

export const requeueWatchedStatement = (d1: D1Database, row: ReadState, attemptLog: string, now: number) =>
  prepared(d1, REQUEUE_WATCHED).bind(...asRead(row), attemptLog, now);

/**
 * ?3 state, ?4 status, ?5 finishedAt, ?6 watch. Marks a finished job's callback pending; rides in the outcome's
 * wave and lands only if that outcome did (same final status and finishedAt). A job whose id is already past
 * the fresh-id rescue window (it ran long or retried long) is flagged, so a lost callback message is found.
 */
const CALLBACK_PENDING = `UPDATE ${JOBS} SET ${col("callbackState")} = ?3, ${WATCH("?6")}
  WHERE ${col("tenantId")} = ?1 AND ${col("id")} = ?2 AND ${col("status")} = ?4 AND ${col("finishedAt")} = ?5
  AND ${col("callbackUrl")} IS NOT NULL`;

export const callbackPendingStatement = (
  d1: D1Database,
  job: JobKey,
  status: "succeeded" | "dead",
  finishedAt: number,
  state: string,
) =>
  prepared(d1, CALLBACK_PENDING).bind(
    job.tenant,
    job.id,
    state,
    status,
    finishedAt,
    needsWatch(job.id, finishedAt) ? 1 : 0,
  );

/** Whether a conditional write matched its row. */
export const landed = (result: D1Result) => (result.meta?.changes ?? 0) > 0;
