// /v1/jobs: enqueue (one or a batch), read, list, cancel, retry, delete.

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, notFound } from "../../contract/errors";
import { FINISHED_STATUSES, type JobStatus } from "../../contract/job";
import {
  BatchEnqueueSchema,
  EnqueueSchema,
  JobDetailSchema,
  JobIdParam,
  JobPageSchema,
  JobSchema,
  ListJobsQuery,
} from "../../contract/schemas";
import { jobQueueOf } from "../../core/config";
import { readSteps } from "../../db/job-steps";
import { attemptLogOf, deleteFinishedJob, getJob, listJobs, rowToJob } from "../../db/jobs";
import { cancelJobCascade } from "../../service/cancel-job";
import { type Enqueued, enqueue, enqueueForAnswer } from "../../service/enqueue";
import { jobPage, requeueByHand } from "../../service/manage-jobs";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonBody, jsonContent } from "../openapi";
import { enqueueContext, manageDeps } from "../request-context";

const idempotencyHeader = z.object({
  "idempotency-key": z.string().min(1).max(200).optional().openapi({ description: "same as body idempotencyKey" }),
});

const enqueueRoute = createRoute({
  method: "post",
  path: "/v1/jobs",
  tags: ["jobs"],
  summary: "Enqueue a job",
  request: { headers: idempotencyHeader, body: jsonBody(EnqueueSchema) },
  responses: {
    202: jsonContent(JobSchema, "Accepted: the job is committed and queued (or scheduled)"),
    200: {
      ...jsonContent(
        JobSchema,
        "Idempotent replay (header Idempotent-Replayed: true): the original job; or a debounced enqueue (header Debounced: true): the window's job as stored after this enqueue (its payload, or a later one's)",
      ),
      headers: z.object({
        "Idempotent-Replayed": z.literal("true").optional(),
        Debounced: z.literal("true").optional(),
      }),
    },
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

const batchRoute = createRoute({
  method: "post",
  path: "/v1/jobs/batch",
  tags: ["jobs"],
  summary: "Enqueue 1…100 jobs, all or nothing",
  request: { body: jsonBody(BatchEnqueueSchema) },
  responses: {
    202: jsonContent(z.object({ jobs: z.array(JobSchema) }), "Accepted"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/jobs",
  tags: ["jobs"],
  summary: "List jobs, newest first",
  request: { query: ListJobsQuery },
  responses: { 200: jsonContent(JobPageSchema, "A page of jobs"), ...errorResponses(400, 401, 403) },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/jobs/{id}",
  tags: ["jobs"],
  summary: "Get a job with its attempt log and its workflow steps",
  request: { params: JobIdParam },
  responses: { 200: jsonContent(JobDetailSchema, "The job"), ...errorResponses(401, 403, 404) },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/v1/jobs/{id}/cancel",
  tags: ["jobs"],
  summary: "Cancel a scheduled, queued, retrying or waiting job (and a workflow's unfinished children)",
  request: { params: JobIdParam },
  responses: { 200: jsonContent(JobSchema, "Cancelled"), ...errorResponses(401, 403, 404, 409) },
});

const retryRoute = createRoute({
  method: "post",
  path: "/v1/jobs/{id}/retry",
  tags: ["jobs"],
  summary: "Send a dead or cancelled job back to the queue, attempts reset",
  request: { params: JobIdParam },
  responses: { 200: jsonContent(JobSchema, "Queued again"), ...errorResponses(401, 403, 404, 409) },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/jobs/{id}",
  tags: ["jobs"],
  summary: "Delete a finished job",
  request: { params: JobIdParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
});

/** 404 when the job is not this tenant's; otherwise 409 saying which state blocked the action. */
async function conflictOrMissing(c: Context<AppEnv>, id: string, action: string): Promise<never> {
  const row = await getJob(c.var.db, tenantOf(c), id);
  if (!row) throw notFound("job");
  if (action === "delete" && row.batchId && FINISHED_STATUSES.includes(row.status as JobStatus)) {
    throw new ApiError("conflict", `cannot delete a job of batch ${row.batchId} while the batch is running`);
  }
  throw new ApiError("conflict", `cannot ${action} a job that is ${row.status}`);
}

export function registerJobRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(enqueueRoute, async (c) => {
    const input = c.req.valid("json");
    const headerKey = c.req.valid("header")["idempotency-key"];
    if (headerKey && input.idempotencyKey && headerKey !== input.idempotencyKey) {
      throw new ApiError("invalid_request", "Idempotency-Key header and idempotencyKey differ", [
        { path: "idempotencyKey", message: "differs from the Idempotency-Key header" },
      ]);
    }
    const [enqueued] = await enqueue(
      [{ ...input, idempotencyKey: input.idempotencyKey ?? headerKey }],
      enqueueContext(c),
    );
    const { replayed, debounced, toJob } = enqueued as Enqueued;
    // An enqueue that joined an open debounce window answers that window's job, its payload replaced.
    if (debounced) {
      c.header("Debounced", "true");
      return c.json(toJob(), 200);
    }
    // A duplicate within the key's TTL answers the original job, whatever its status.
    if (replayed) {
      c.header("Idempotent-Replayed", "true");
      return c.json(toJob(), 200);
    }
    return c.json(toJob(), 202);
  });

  app.openapi(batchRoute, async (c) => {
    const { jobs } = c.req.valid("json");
    return c.json({ jobs: await enqueueForAnswer(jobs, enqueueContext(c)) }, 202);
  });

  app.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listJobs(c.var.db, tenantOf(c), query);
    return c.json(jobPage(rows, query.limit), 200);
  });

  app.openapi(getRoute, async (c) => {
    const tenant = tenantOf(c);
    const { id } = c.req.valid("param");
    // Both reads at once: a plain job's steps read finds no row, at the cost of one query.
    const [row, steps] = await Promise.all([getJob(c.var.db, tenant, id), readSteps(c.var.db, tenant, id)]);
    if (!row) throw notFound("job");
    return c.json({ ...rowToJob(row), attemptLog: attemptLogOf(row), steps }, 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid("param");
    const queue = jobQueueOf(c.env);
    // Waiting workflows too, with their unfinished children; a cancelled child fails its parent's step.
    const row = await cancelJobCascade({ db: c.var.db, queue, log: c.var.log }, tenantOf(c), id, Date.now());
    if (!row) return conflictOrMissing(c, id, "cancel");
    c.var.log.info("job cancelled", { jobId: id, type: row.type, status: "cancelled" });
    return c.json(rowToJob(row), 200);
  });

  app.openapi(retryRoute, async (c) => {
    const { id } = c.req.valid("param");
    const [row] = await requeueByHand(manageDeps(c), [id]);
    if (!row) return conflictOrMissing(c, id, "retry");
    return c.json(rowToJob(row), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteFinishedJob(c.var.db, tenantOf(c), id))) return conflictOrMissing(c, id, "delete");
    return c.body(null, 204);
  });
}
