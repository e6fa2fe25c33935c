// /v1/job-types: the registered types with their payload's JSON Schema, and pause / resume per tenant.

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { JobTypeListSchema, JobTypeParam, JobTypeSchema } from "../../contract/job-types";
import { jobQueueOf } from "../../core/config";
import { type JobTypeDeps, listJobTypes, pauseJobType, resumeJobType } from "../../service/job-types";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonContent } from "../openapi";

const listRoute = createRoute({
  method: "get",
  path: "/v1/job-types",
  tags: ["job types"],
  summary: "Every registered job type, its payload's JSON Schema and whether it is paused for you",
  responses: { 200: jsonContent(JobTypeListSchema, "The job types, by name"), ...errorResponses(401, 403) },
});

const pauseRoute = createRoute({
  method: "post",
  path: "/v1/job-types/{type}/pause",
  tags: ["job types"],
  summary: "Pause a job type for your tenant: enqueues are still accepted, its jobs wait queued until resumed",
  request: { params: JobTypeParam },
  responses: {
    200: jsonContent(JobTypeSchema, "Paused (also when it already was)"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const resumeRoute = createRoute({
  method: "post",
  path: "/v1/job-types/{type}/resume",
  tags: ["job types"],
  summary: "Resume a paused job type: the jobs it held are sent to the queue again",
  request: { params: JobTypeParam },
  responses: {
    200: jsonContent(JobTypeSchema, "Resumed (also when it was not paused)"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const depsOf = (c: Context<AppEnv>): JobTypeDeps => ({
  d1: c.env.DB,
  queue: jobQueueOf(c.env),
  registry: c.var.registry,
  tenant: tenantOf(c),
  log: c.var.log,
  now: Date.now(),
});

export function registerJobTypeRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => c.json({ data: await listJobTypes(depsOf(c)) }, 200));

  app.openapi(pauseRoute, async (c) => c.json(await pauseJobType(depsOf(c), c.req.valid("param").type), 200));

  app.openapi(resumeRoute, async (c) => {
    const { released: _released, ...entry } = await resumeJobType(depsOf(c), c.req.valid("param").type);
    return c.json(entry, 200);
  });
}
