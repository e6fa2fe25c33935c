// The batches (fan-in) part of the contract: requests, the Batch answer, its callback event and its state.
import { z } from "@hono/zod-openapi";
import { callbackStateSchema, EnqueueSchema, JobSchema } from "./schemas";

export const BATCH_STATUSES = ["running", "succeeded", "completed"] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const BatchStatusSchema = z.enum(BATCH_STATUSES).openapi("BatchStatus", {
  description: "running; succeeded (every job succeeded); completed (all finished, some did not succeed)",
});

/** Jobs per create or add request, like POST /v1/jobs/batch. */
export const MAX_BATCH_JOBS_PER_REQUEST = 100;

/**
 * A batch's jobs are counted from their rows, so each item must create its own row: an idempotency key or a debounce
 * (either may answer an existing job instead) is refused inside a batch.
 */
const BatchJobsSchema = z
  .array(EnqueueSchema)
  .min(1)
  .max(MAX_BATCH_JOBS_PER_REQUEST)
  .superRefine((jobs, ctx) => {
    jobs.forEach((job, i) => {
      for (const field of ["idempotencyKey", "debounce"]) {
        if ((job as Record<string, unknown>)[field] !== undefined) {
          ctx.addIssue({ code: "custom", path: [i, field], message: "not accepted for a job of a batch" });
        }
      }
    });
  });

/** The job enqueued when the batch finishes; its payload gets `batch: {id, total, succeeded, dead, cancelled}`. */
export const BatchFinisherSchema = z
  .object({
    type: z.string().min(1).max(100),
    payload: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "an object; the finished batch's counts are added under `batch`" }),
  })
  .strict()
  .openapi("BatchFinisher");

export type BatchFinisher = z.infer<typeof BatchFinisherSchema>;

export const CreateBatchSchema = z
  .object({
    jobs: BatchJobsSchema,
    description: z.string().max(500).optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .openapi({ description: "gets a signed batch.succeeded or batch.completed event when the batch finishes" }),
    onSuccess: BatchFinisherSchema.optional().openapi({ description: "enqueued once, when every job succeeded" }),
    onComplete: BatchFinisherSchema.optional().openapi({ description: "enqueued once, when every job finished" }),
    open: z
      .boolean()
      .optional()
      .openapi({ description: "true: more jobs may be added until POST /v1/batches/{id}/close; default false" }),
  })
  .strict()
  .openapi("CreateBatchRequest");

export type CreateBatchInput = z.infer<typeof CreateBatchSchema>;

export const AddBatchJobsSchema = z.object({ jobs: BatchJobsSchema }).strict().openapi("AddBatchJobsRequest");

const BatchCallbackStateSchema = callbackStateSchema(["batch.succeeded", "batch.completed"]).openapi(
  "BatchCallbackState",
);

export type BatchCallbackState = z.infer<typeof BatchCallbackStateSchema>;
export type BatchCallbackEvent = BatchCallbackState["event"];

export const BatchSchema = z
  .object({
    id: z.string(),
    status: BatchStatusSchema,
    description: z.string().nullable(),
    total: z.number().int(),
    pending: z.number().int().openapi({ description: "jobs not finished yet" }),
    succeeded: z.number().int(),
    dead: z.number().int(),
    cancelled: z.number().int(),
    open: z.boolean(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    callbackUrl: z.string().nullable(),
    onSuccess: BatchFinisherSchema.nullable(),
    onComplete: BatchFinisherSchema.nullable(),
    callback: BatchCallbackStateSchema.nullable().openapi({ description: "the batch callback's delivery state" }),
  })
  .openapi("Batch");

export type Batch = z.infer<typeof BatchSchema>;

export const BatchWithJobsSchema = BatchSchema.extend({
  jobs: z.array(JobSchema).openapi({ description: "the jobs this request created" }),
}).openapi("BatchWithJobs");

export const BatchPageSchema = z
  .object({ data: z.array(BatchSchema), nextCursor: z.string().nullable() })
  .openapi("BatchPage");

const BATCH_ID = /^bat_[0-9A-Z]{26}$/;

export const ListBatchesQuery = z.object({
  status: BatchStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().regex(BATCH_ID, "not a cursor from a previous page").optional(),
});

export type ListBatchesFilter = z.infer<typeof ListBatchesQuery>;

export const BatchIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "bat_01JABCDEFGHJKMNPQRSTVWXYZ0" }),
});

/** The body POSTed to a batch's callbackUrl (signed like job callbacks). */
export const BatchCallbackEventSchema = z
  .object({ type: z.enum(["batch.succeeded", "batch.completed"]), timestamp: z.string(), data: BatchSchema })
  .openapi("BatchCallbackEvent");
