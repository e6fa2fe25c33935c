// Drizzle schema: the D1 tables that are the source of truth for jobs and API keys.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One row per job. Cost drives the shape: D1 bills every row and index row written.
 * - WITHOUT ROWID with the primary key (tenant, id): an insert writes one row, not two, and a
 *   tenant's jobs are already ordered newest-first by their time-sortable id.
 * - Only partial indexes, over states a plain job never enters (scheduled, retrying, dead), so a
 *   job that is enqueued, claimed and succeeds touches no index at all.
 * Times are unix milliseconds.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    type: text("type").notNull(),
    status: text("status").notNull(),
    payload: text("payload").notNull(),
    result: text("result"),
    error: text("error"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    /** JSON options that shape each attempt: backoff, timeoutSeconds, flow. */
    options: text("options").notNull(),
    progress: integer("progress"),
    runAt: integer("run_at").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    /** While running: when the claim lapses and another delivery may take the job over. */
    leaseUntil: integer("lease_until"),
    idempotencyKey: text("idempotency_key"),
    callbackUrl: text("callback_url"),
    metadata: text("metadata").notNull(),
    /**
     * 1 when a queued job is watched through the jobs_outbox index (re-queued by hand, released by
     * the tick, delayed past the rescue window, re-created under an old id from its idempotency key),
     * or a finished job's pending callback is (its job ran long, its delivery waits past the window).
     * Fresh jobs stay 0: the tick finds a lost message of theirs by scanning each tenant's recent ids
     * instead, so the common path writes no index row.
     */
    outbox: integer("outbox").notNull().default(0),
    /** JSON array of the attempts that failed or were deferred. */
    attemptLog: text("attempt_log").notNull().default("[]"),
    /** JSON state of the completion callback delivery (webhooks), null when there is none yet. */
    callbackState: text("callback_state"),
    /**
     * Which run of the job an outcome belongs to: bumped by every requeue by hand, checked by every claim and
     * outcome write, so a run that started before a cancel + retry cannot land its outcome on the new run.
     */
    runToken: integer("run_token").notNull().default(0),
    /** The workflow job that started this one with `ctx.step.invoke`; null for every other job. */
    parentId: text("parent_id"),
    /** JSON `waitingFor` of a `waiting` job (what its steps parked on: a sleep, an event, children); null otherwise. */
    waitingFor: text("waiting_for"),
    /**
     * 1 while the job is held because its type is paused for its tenant (status stays `queued`): the consumer
     * parks it here instead of bouncing it through the queue, and a resume releases the held jobs in pages.
     */
    paused: integer("paused").notNull().default(0),
    /** The batch (POST /v1/batches) this job belongs to; null for every other job. */
    batchId: text("batch_id"),
    /** The lane (named queue, issue #16) the job's messages go to: each lane is its own Cloudflare Queue and consumer. */
    queue: text("queue").notNull().default("default"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index("jobs_scheduled_due").on(t.runAt).where(sql`status = 'scheduled'`),
    // Tenant first: the tick's rescue joins it per page of tenants, and a tenant's metrics read only its own rows.
    index("jobs_outbox").on(t.tenantId, t.runAt).where(sql`outbox = 1`),
    // Only for counts per tenant (metrics); the tick releases due jobs across tenants through jobs_scheduled_due.
    index("jobs_scheduled_tenant").on(t.tenantId, t.id).where(sql`status = 'scheduled'`),
    index("jobs_retrying").on(t.tenantId, t.id).where(sql`status = 'retrying'`),
    // The lane rides last, so the metrics' dead count per type and lane reads this index alone (its order is unchanged).
    index("jobs_dead_lane").on(t.tenantId, t.type, t.id, t.queue).where(sql`status = 'dead'`),
    // Parked workflow jobs: the tick wakes the due ones across tenants; metrics count a tenant's own.
    index("jobs_waiting_due").on(t.runAt).where(sql`status = 'waiting'`),
    index("jobs_waiting_tenant").on(t.tenantId, t.id).where(sql`status = 'waiting'`),
    // A parent's children (cancel cascades to the unstarted ones); plain jobs have no parent and no index row.
    index("jobs_children").on(t.tenantId, t.parentId).where(sql`parent_id is not null`),
    index("jobs_paused").on(t.tenantId, t.type, t.id).where(sql`paused = 1`),
    // GET /v1/jobs?batchId= and a batch's cancel; jobs outside batches write no row here.
    index("jobs_batch").on(t.tenantId, t.batchId, t.id).where(sql`batch_id is not null`),
  ],
);

/**
 * Batches (fan-in): counts are kept here, updated once per batch per consumer wave (not per job), and the
 * batch finishes exactly once, when it is closed and nothing is pending (a conditional update decides it).
 * `onSuccess` / `onComplete` are JSON `{type, payload?}`; `callbackState` is the batch callback's delivery state.
 */
export const batches = sqliteTable(
  "batches",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    /** "running" | "succeeded" (every job succeeded) | "completed" (all finished, some did not succeed) */
    status: text("status").notNull(),
    description: text("description"),
    callbackUrl: text("callback_url"),
    onSuccess: text("on_success"),
    onComplete: text("on_complete"),
    /** 1 while jobs may still be added; a batch finishes only once closed. */
    open: integer("open").notNull(),
    total: integer("total").notNull().default(0),
    succeeded: integer("succeeded").notNull().default(0),
    dead: integer("dead").notNull().default(0),
    cancelled: integer("cancelled").notNull().default(0),
    callbackState: text("callback_state"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index("batches_status").on(t.tenantId, t.status, t.id),
    // The tick's rescue of batch callbacks whose message was lost: only finished batches with a pending callback have a row.
    index("batches_callback_pending").on(t.updatedAt).where(sql`json_extract(callback_state, '$.status') = 'pending'`),
  ],
);

/** Job types paused per tenant (POST /v1/job-types/:type/pause); a row here survives restarts and deploys. */
export const pausedTypes = sqliteTable(
  "paused_types",
  {
    tenantId: text("tenant_id").notNull(),
    type: text("type").notNull(),
    pausedAt: integer("paused_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.type] })],
);

/**
 * One row per finished or parked step of a workflow job (`ctx.step`), keyed by (tenant, job, step name), so a
 * re-run of the handler finds every step it already did. WITHOUT ROWID: a step costs one row written.
 * Times are unix milliseconds; `result` and `error` are JSON.
 */
export const jobSteps = sqliteTable(
  "job_steps",
  {
    tenantId: text("tenant_id").notNull(),
    jobId: text("job_id").notNull(),
    name: text("name").notNull(),
    /** "run" | "sleep" | "event" | "invoke" */
    kind: text("kind").notNull(),
    /** "waiting" (parked on it) | "succeeded" | "failed" | "timed_out" (an event wait that got no event) */
    status: text("status").notNull(),
    result: text("result"),
    error: text("error"),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
    /** sleep: when it ends; event: when the wait times out. */
    wakeAt: integer("wake_at"),
    /** event waits: the event name and the key the wait named (null: any key). */
    eventName: text("event_name"),
    eventKey: text("event_key"),
    /** invoke: the child job's id (same tenant). */
    childId: text("child_id"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.jobId, t.name] }),
    // POST /v1/events finds the open waits for (tenant, event name[, key]) here.
    index("job_steps_waiting_events")
      .on(t.tenantId, t.eventName, t.eventKey)
      .where(sql`status = 'waiting' and kind = 'event'`),
  ],
);

/**
 * Events received by POST /v1/events, kept a short while (see EVENT_LOOKBACK_MS in core/steps.ts) so a waiter
 * that starts waiting just after an event still gets it; the tick prunes older ones.
 */
export const events = sqliteTable(
  "events",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    key: text("key"),
    /** JSON data of the event (null when none was sent). */
    data: text("data"),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    // A keyed wait finds its event in one probe; a keyless one scans the name's keys within the lookback.
    index("events_recent").on(t.tenantId, t.name, t.key, t.receivedAt),
  ],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name").notNull(),
    /** SHA-256 of the key, hex. The key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.keyHash), index("api_keys_tenant").on(t.tenantId)],
);

/** Every tenant that ever had a job or a key: the tick's sweeps walk this table in pages (see sweepCursors). */
export const tenants = sqliteTable("tenants", {
  tenantId: text("tenant_id").primaryKey(),
  createdAt: integer("created_at").notNull(),
  /** The fresh-id rescue scans this tenant's ids from this id floor on; null: the last hour (tenants backfilled). */
  rescueFrom: text("rescue_from"),
});

/**
 * Control database only (DB): the shard each tenant's jobs live in (src/db/tenant-shards.ts). Written once, when a
 * tenant is first resolved; the index counts tenants per shard for the next placement.
 */
export const tenantShards = sqliteTable(
  "tenant_shards",
  {
    tenantId: text("tenant_id").primaryKey(),
    shard: text("shard").notNull(),
    placedAt: integer("placed_at").notNull(),
  },
  (t) => [index("tenant_shards_shard").on(t.shard)],
);

/** Where each of the tick's tenant sweeps stopped: the next tick's page starts after `after` ('' = the first tenant). */
export const sweepCursors = sqliteTable("sweep_cursors", {
  sweep: text("sweep").primaryKey(),
  after: text("after").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Recurring jobs. Each fire becomes a job whose id is derived from (schedule, fire time), so repeats collapse. */
export const schedules = sqliteTable(
  "schedules",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    cron: text("cron").notNull(),
    timezone: text("timezone").notNull(),
    type: text("type").notNull(),
    payload: text("payload").notNull(),
    jobOptions: text("job_options").notNull(),
    enabled: integer("enabled").notNull(),
    /** What to do with fire times missed while nothing ticked: "latest" (default), "all" or "none". */
    catchUp: text("catch_up").notNull().default("latest"),
    nextRunAt: integer("next_run_at"),
    lastRunAt: integer("last_run_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex("schedules_name").on(t.tenantId, t.name),
    index("schedules_due").on(t.nextRunAt).where(sql`enabled = 1`),
  ],
);

/**
 * Each tenant's webhook signing secrets; the previous ones stay valid through a rotation grace period.
 * `secret` signs completion callbacks only; `httpSecret` signs `http` job requests only, so a tenant's
 * http job can never produce a callback its receivers would accept. A row made before the split gets
 * its `httpSecret` on first use.
 */
export const webhookSecrets = sqliteTable("webhook_secrets", {
  tenantId: text("tenant_id").primaryKey(),
  secret: text("secret").notNull(),
  previousSecret: text("previous_secret"),
  httpSecret: text("http_secret"),
  previousHttpSecret: text("previous_http_secret"),
  previousExpiresAt: integer("previous_expires_at"),
  rotatedAt: integer("rotated_at"),
  createdAt: integer("created_at").notNull(),
});

/**
 * Per-minute counters per tenant and type, upserted once per type per consumer batch. Durations
 * go into fixed log-scale buckets (upper bounds in ms: 10, 25, 50, 100, 250, 500, 1000, 2500,
 * 5000, 10000, 30000, +inf) so p50/p95 come from sums, not from scanning jobs.
 */
export const metricsMinute = sqliteTable(
  "metrics_minute",
  {
    tenantId: text("tenant_id").notNull(),
    minute: integer("minute").notNull(),
    type: text("type").notNull(),
    started: integer("started").notNull().default(0),
    succeeded: integer("succeeded").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    dead: integer("dead").notNull().default(0),
    deferred: integer("deferred").notNull().default(0),
    durationMsSum: integer("duration_ms_sum").notNull().default(0),
    /** JSON array of 12 bucket counts, in the bound order above. */
    durationBuckets: text("duration_buckets").notNull().default("[0,0,0,0,0,0,0,0,0,0,0,0]"),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.minute, t.type] })],
);

/**
 * Dashboard sign-ins: the cookie holds a random session id, stored here only as its SHA-256. A session
 * ends at `expiresAt`, on sign-out (row deleted), or when its API key is revoked (rows deleted, and a
 * session whose key is gone is refused anyway).
 */
export const dashboardSessions = sqliteTable(
  "dashboard_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    keyId: text("key_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("dashboard_sessions_key").on(t.keyId)],
);

export type JobRow = typeof jobs.$inferSelect;
export type ScheduleRow = typeof schedules.$inferSelect;
export type WebhookSecretRow = typeof webhookSecrets.$inferSelect;
export type MetricsMinuteRow = typeof metricsMinute.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type TenantRow = typeof tenants.$inferSelect;
export type DashboardSessionRow = typeof dashboardSessions.$inferSelect;
export type JobStepRow = typeof jobSteps.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type PausedTypeRow = typeof pausedTypes.$inferSelect;
export type BatchRow = typeof batches.$inferSelect;
