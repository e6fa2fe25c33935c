// /v1/batches: create a batch of jobs, add to it while open, close, read, list and cancel it (fan-in).
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  AddBatchJobsSchema,
  BatchCallbackEventSchema,
  BatchIdParam,
  BatchPageSchema,
  BatchSchema,
  BatchWithJobsSchema,
  CreateBatchSchema,
  ListBatchesQuery,
} from "../../contract/batches";
import { notFound } from "../../contract/errors";
import { addBatchJobs, cancelBatch, closeBatch, createBatch, getBatch, listBatches } from "../../service/batches";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonBody, jsonContent } from "../openapi";
import { enqueueContext } from "../request-context";

const createRouteDef = createRoute({
  method: "post",
  path: "/v1/batches",
  tags: ["batches"],
  summary: "Create a batch of 1…100 jobs (all or nothing), with what to do when they have all finished",
  request: { body: jsonBody(CreateBatchSchema) },
  responses: {
    202: jsonContent(BatchWithJobsSchema, "Accepted: the batch and its jobs are committed and queued"),
    ...errorResponses(400, 401, 403, 413, 415, 422),
  },
});

const addRoute = createRoute({
  method: "post",
  path: "/v1/batches/{id}/jobs",
  tags: ["batches"],
  summary: "Add 1…100 jobs to an open batch",
  request: { params: BatchIdParam, body: jsonBody(AddBatchJobsSchema) },
  responses: {
    202: jsonContent(BatchWithJobsSchema, "Accepted: the batch with the jobs this request added"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

const closeRoute = createRoute({
  method: "post",
  path: "/v1/batches/{id}/close",
  tags: ["batches"],
  summary: "Close a batch: no more jobs; it finishes when its last job does",
  request: { params: BatchIdParam },
  responses: { 200: jsonContent(BatchSchema, "The batch"), ...errorResponses(401, 403, 404) },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/v1/batches/{id}/cancel",
  tags: ["batches"],
  summary: "Close a batch and cancel every job of it that has not started",
  request: { params: BatchIdParam },
  responses: { 200: jsonContent(BatchSchema, "The batch"), ...errorResponses(401, 403, 404) },
});

const getRouteDef = createRoute({
  method: "get",
  path: "/v1/batches/{id}",
  tags: ["batches"],
  summary: "Get a batch with its counts",
  request: { params: BatchIdParam },
  responses: { 200: jsonContent(BatchSchema, "The batch"), ...errorResponses(401, 403, 404) },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/batches",
  tags: ["batches"],
  summary: "List batches, newest first (its jobs: GET /v1/jobs?batchId=)",
  request: { query: ListBatchesQuery },
  responses: { 200: jsonContent(BatchPageSchema, "A page of batches"), ...errorResponses(400, 401, 403) },
});

export function registerBatchRoutes(app: OpenAPIHono<AppEnv>): void {
  // Not an answer of any route, but what a batch's callbackUrl receives: documented beside them.
  app.openAPIRegistry.register("BatchCallbackEvent", BatchCallbackEventSchema);

  // Whose batch it is comes before what was sent: another tenant's (or no) batch is a 404 whatever the body says.
  app.use("/v1/batches/:id/jobs", async (c, next) => {
    if (c.req.method === "POST" && !(await getBatch(c.var.db, tenantOf(c), c.req.param("id") ?? ""))) {
      throw notFound("batch");
    }
    await next();
  });

  app.openapi(createRouteDef, async (c) => {
    const batch = await createBatch(enqueueContext(c), c.req.valid("json"));
    return c.json(batch, 202);
  });

  app.openapi(addRoute, async (c) => {
    const { id } = c.req.valid("param");
    const batch = await addBatchJobs(enqueueContext(c), id, c.req.valid("json").jobs);
    return c.json(batch, 202);
  });

  app.openapi(closeRoute, async (c) => {
    return c.json(await closeBatch(enqueueContext(c), c.req.valid("param").id), 200);
  });

  app.openapi(cancelRoute, async (c) => {
    return c.json(await cancelBatch(enqueueContext(c), c.req.valid("param").id), 200);
  });

  app.openapi(getRouteDef, async (c) => {
    const batch = await getBatch(c.var.db, tenantOf(c), c.req.valid("param").id);
    if (!batch) throw notFound("batch");
    return c.json(batch, 200);
  });

  app.openapi(listRoute, async (c) => {
    return c.json(await listBatches(c.var.db, tenantOf(c), c.req.valid("query")), 200);
  });
}
