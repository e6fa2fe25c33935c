// Request and response schemas: the same definitions validate requests and generate /openapi.json.
import { z } from "@hono/zod-openapi";
import { CATCH_UP_MODES, canonicalTimezone, cronProblem } from "./cron-rules";
import { ERROR_CODES } from "./errors";
import { JOB_STATUSES, MAX_DELAY_SECONDS, MAX_QUEUE_DELAY_SECONDS } from "./job";
import { SYSTEM_LOG_FIELDS } from "./log-fields";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

export const JobStatusSchema = z.enum(JOB_STATUSES).openapi("JobStatus");

const BackoffSchema = z
  .object({
    type: z.enum(["exponential", "fixed"]),
    delaySeconds: z.number().int().min(0).max(MAX_QUEUE_DELAY_SECONDS),
    maxDelaySeconds: z.number().int().min(0).max(MAX_QUEUE_DELAY_SECONDS).optional(),
    jitter: z.boolean().optional(),
  })
  .strict()
  .openapi("Backoff");

export const FlowSchema = z
  .object({
    key: z.string().min(1).max(200),
    rate: z
      .object({ limit: z.number().int().min(1).max(10_000), periodSeconds: z.number().int().min(1).max(86_400) })
      .strict()
      .optional(),
    concurrency: z.number().int().min(1).max(1_000).optional(),
  })
  .strict()
  .openapi("Flow");

const RESERVED_METADATA_KEYS = new Set<string>(SYSTEM_LOG_FIELDS);

/** Correlation fields for log lines; a key named like a field Edge Jobs writes itself would forge it, so it is refused. */
const MetadataSchema = z
  .record(z.string().max(100), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 20, "at most 20 metadata fields")
  .superRefine((metadata, ctx) => {
    for (const key of Object.keys(metadata)) {
      if (RESERVED_METADATA_KEYS.has(key)) {
        ctx.addIssue({ code: "custom", path: [key], message: `"${key}" is a field Edge Jobs writes in log lines` });
      }
    }
  })
  .openapi({
    description: `correlation fields shown in every log line of the job; these names are reserved: ${SYSTEM_LOG_FIELDS.join(", ")}`,
  });

/** Debounce (issue #16): one pending job per (tenant, key); later enqueues replace it and push its start. */
export const DebounceSchema = z
  .object({
    key: z.string().min(1).max(200),
    seconds: z.number().int().min(1).max(86_400),
    maxWaitSeconds: z.number().int().min(1).max(604_800).optional().openapi({
      description: "the start never moves past this long after the window's first enqueue; at least `seconds`",
    }),
  })
  .strict()
  .refine((d) => d.maxWaitSeconds === undefined || d.maxWaitSeconds >= d.seconds, {
    message: "must be at least seconds",
    path: ["maxWaitSeconds"],
  })
  .openapi("Debounce");

export const EnqueueSchema = z
  .object({
    type: z.string().min(1).max(100),
    payload: z.unknown().optional().openapi({ description: "validated by the job type's schema; default {}" }),
    delaySeconds: z.number().int().min(0).max(MAX_DELAY_SECONDS).optional(),
    runAt: z.iso.datetime({ offset: true }).optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
    idempotencyTtlSeconds: z.number().int().min(60).max(2_592_000).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoff: BackoffSchema.optional(),
    timeoutSeconds: z.number().int().min(1).max(900).optional(),
    flow: FlowSchema.optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    metadata: MetadataSchema.optional(),
    queue: z.string().min(1).max(32).optional().openapi({
      description:
        "the lane to run in (one the deployment declares, e.g. `default`, `critical`); default: the job type's lane",
    }),
    debounce: DebounceSchema.optional().openapi({
      description:
        "while a job with this key has not started, an enqueue replaces it (200, header Debounced: true) and moves its start to `seconds` from now",
    }),
  })
  .strict()
  .refine((v) => v.delaySeconds === undefined || v.runAt === undefined, {
    message: "give delaySeconds or runAt, not both",
    path: ["runAt"],
  })
  .refine((v) => v.debounce === undefined || (v.delaySeconds === undefined && v.runAt === undefined), {
    message: "debounce sets the start: give no delaySeconds or runAt with it",
    path: ["debounce"],
  })
  .refine((v) => v.debounce === undefined || v.idempotencyKey === undefined, {
    message: "debounce and idempotencyKey cannot be combined (a debounced enqueue replaces the job's payload)",
    path: ["debounce"],
  })
  .openapi("EnqueueRequest");

export type EnqueueInput = z.infer<typeof EnqueueSchema>;

export const BatchEnqueueSchema = z
  .object({ jobs: z.array(EnqueueSchema).min(1).max(100) })
  .strict()
  .openapi("BatchEnqueueRequest");

/** A signed callback's delivery state (src/webhooks/callback-state.ts), for the events a job or a batch reports. */
export const callbackStateSchema = <const Events extends readonly [string, ...string[]]>(events: Events) =>
  z.object({
    status: z.enum(["pending", "delivered", "failed"]),
    event: z.enum(events),
    webhookId: z.string(),
    attempts: z.number().int(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
  });

/** The completion callback's delivery. */
const CallbackStateSchema = callbackStateSchema(["job.succeeded", "job.dead"]).openapi("CallbackState");

const JobErrorSchema = z.object({ message: z.string(), name: z.string(), attempt: z.number(), at: z.string() });

/** The lane of a job whose enqueue and job type name none (every deployment declares it). */
export const DEFAULT_QUEUE = "default";

/** What a `waiting` job is parked on (core/steps.ts WaitingFor): a sleep, an event (with its timeout), child jobs. */
export const WaitingForSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("sleep"), until: z.string() }),
    z.object({ kind: z.literal("event"), event: z.string(), key: z.string().optional(), until: z.string() }),
    z.object({ kind: z.literal("invoke"), jobIds: z.array(z.string()) }),
  ])
  .openapi("WaitingFor");

export const JobSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    status: JobStatusSchema,
    payload: z.unknown(),
    result: z.unknown(),
    error: JobErrorSchema.nullable(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    progress: z.number().nullable(),
    runAt: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    idempotencyKey: z.string().nullable(),
    flow: FlowSchema.nullable(),
    callbackUrl: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    callback: CallbackStateSchema.nullable(),
    queue: z.string().openapi({ description: "the lane the job runs in" }),
    batchId: z.string().nullable().openapi({ description: "the batch (POST /v1/batches) the job belongs to" }),
    parentId: z
      .string()
      .nullable()
      .openapi({ description: "the workflow job that started this one (ctx.step.invoke)" }),
    waitingFor: WaitingForSchema.nullable().openapi({ description: "what a `waiting` job is parked on; else null" }),
  })
  .openapi("Job");

export const AttemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  outcome: z.enum(["failed", "deferred", "timed_out"]),
  error: z.object({ message: z.string(), name: z.string() }).nullable(),
});

/** One step of a workflow job (a row of job_steps); times are ISO, `result` and `error` parsed JSON. */
export const StepSchema = z
  .object({
    name: z.string(),
    kind: z.enum(["run", "sleep", "event", "invoke"]),
    status: z.enum(["waiting", "succeeded", "failed", "timed_out"]).openapi({
      description: "timed_out: an event wait that got no event in time",
    }),
    result: z.unknown(),
    error: z
      .object({
        message: z.string(),
        name: z.string(),
        childStatus: z.enum(["dead", "cancelled"]).optional().openapi({ description: "invoke steps: the child's end" }),
      })
      .nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    childId: z.string().optional().openapi({ description: "invoke steps: the child job's id" }),
  })
  .openapi("Step");

export const JobDetailSchema = JobSchema.extend({
  attemptLog: z.array(AttemptSchema),
  steps: z.array(StepSchema).openapi({ description: "the workflow's steps, oldest first ([] for a plain job)" }),
}).openapi("JobDetail");

export const JobPageSchema = z
  .object({ data: z.array(JobSchema), nextCursor: z.string().nullable() })
  .openapi("JobPage");

const LimitSchema = z.coerce.number().int().min(1).max(100).default(50);
const CursorSchema = z
  .string()
  .regex(/^job_[0-9A-Z]{26}$/, "not a cursor from a previous page")
  .optional();

export const ListJobsQuery = z.object({
  status: JobStatusSchema.optional(),
  type: z.string().min(1).max(100).optional(),
  batchId: z
    .string()
    .regex(/^bat_[0-9A-Z]{26}$/, "not a batch id")
    .optional()
    .openapi({ description: "only the jobs of this batch" }),
  limit: LimitSchema,
  cursor: CursorSchema,
});

export const ListDeadQuery = ListJobsQuery.omit({ status: true });

export const JobIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "job_01J…" }),
});

export const DeadRetrySchema = z
  .object({
    type: z.string().min(1).max(100).optional(),
    ids: z.array(z.string().max(100)).min(1).max(100).optional(),
  })
  .strict()
  .openapi("DeadRetryRequest");

export const TenantSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, '-' and '_', up to 63 characters");

export const CreateKeySchema = z
  .object({ tenant: TenantSchema, name: z.string().min(1).max(100) })
  .strict()
  .openapi("CreateKeyRequest");

export const ApiKeySchema = z
  .object({ id: z.string(), tenant: z.string(), name: z.string(), createdAt: z.string() })
  .openapi("ApiKey");

export const CreatedKeySchema = ApiKeySchema.extend({ key: z.string() }).openapi("CreatedApiKey");

export const KeyIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" } }),
});

// ---- schedules (recurring jobs) ----

const CronSchema = z
  .string()
  .min(1)
  .max(200)
  .superRefine((cron, ctx) => {
    const problem = cronProblem(cron);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({ description: "5-field cron: minute hour day-of-month month day-of-week", example: "0 9 * * 1-5" });

const TimezoneSchema = z
  .string()
  .min(1)
  .max(100)
  .refine((tz) => canonicalTimezone(tz) !== null, "unknown IANA time zone")
  .openapi({ description: "IANA time zone; DST handled", example: "Europe/Berlin" });

const CatchUpSchema = z.enum(CATCH_UP_MODES).openapi({
  description: "missed fire times after downtime: only the most recent (latest, default), all, or none",
});

/** The enqueue options each fire uses; the same rules as POST /v1/jobs. */
export const ScheduleJobOptionsSchema = z
  .object({
    maxAttempts: EnqueueSchema.shape.maxAttempts,
    backoff: EnqueueSchema.shape.backoff,
    timeoutSeconds: EnqueueSchema.shape.timeoutSeconds,
    flow: EnqueueSchema.shape.flow,
    callbackUrl: EnqueueSchema.shape.callbackUrl,
    metadata: EnqueueSchema.shape.metadata,
  })
  .strict()
  .openapi("ScheduleJobOptions");

export type ScheduleJobOptions = z.infer<typeof ScheduleJobOptionsSchema>;

const ScheduleNameSchema = z.string().trim().min(1).max(100);

export const CreateScheduleSchema = z
  .object({
    name: ScheduleNameSchema,
    cron: CronSchema,
    timezone: TimezoneSchema.default("UTC"),
    type: z.string().min(1).max(100),
    payload: z.unknown().optional().openapi({ description: "validated by the job type's schema; default {}" }),
    jobOptions: ScheduleJobOptionsSchema.default({}),
    enabled: z.boolean().default(true),
    catchUp: CatchUpSchema.default("latest"),
  })
  .strict()
  .openapi("CreateScheduleRequest");

export type CreateScheduleInput = z.infer<typeof CreateScheduleSchema>;

export const UpdateScheduleSchema = z
  .object({
    name: ScheduleNameSchema.optional(),
    cron: CronSchema.optional(),
    timezone: TimezoneSchema.optional(),
    type: z.string().min(1).max(100).optional(),
    payload: z.unknown().optional(),
    jobOptions: ScheduleJobOptionsSchema.optional(),
    enabled: z.boolean().optional(),
    catchUp: CatchUpSchema.optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "give at least one field to change")
  .openapi("UpdateScheduleRequest");

export type UpdateScheduleInput = z.infer<typeof UpdateScheduleSchema>;

export const ScheduleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    cron: z.string(),
    timezone: z.string(),
    type: z.string(),
    payload: z.unknown(),
    jobOptions: ScheduleJobOptionsSchema,
    enabled: z.boolean(),
    catchUp: CatchUpSchema,
    nextRunAt: z.string().nullable().openapi({ description: "the next fire time; null while paused" }),
    lastRunAt: z.string().nullable().openapi({ description: "the latest fire time that made a job" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Schedule");

export type Schedule = z.infer<typeof ScheduleSchema>;

export const SchedulePageSchema = z
  .object({ data: z.array(ScheduleSchema), nextCursor: z.string().nullable() })
  .openapi("SchedulePage");

export const ListSchedulesQuery = z.object({
  limit: LimitSchema,
  cursor: z
    .string()
    .regex(/^sch_[0-9A-Z]{26}$/, "not a cursor from a previous page")
    .optional(),
});

export const ScheduleIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "sch_01J…" }),
});
