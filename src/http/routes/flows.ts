// /v1/flows/:key: a flow key's settings and live counts, read from its KeyGate.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { notFound } from "../../contract/errors";
import { flowGate } from "../../gate/gate-client";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonContent } from "../openapi";

const FlowKeyParam = z.object({
  key: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "key", in: "path" }, example: "api.example.com" }),
});

const FlowStatusSchema = z
  .object({
    key: z.string(),
    rate: z.object({ limit: z.number().int(), periodSeconds: z.number().int() }).nullable(),
    concurrency: z.number().int().nullable(),
    running: z.number().int().openapi({ description: "jobs holding a concurrency slot now" }),
    waiting: z.number().int().openapi({ description: "jobs deferred by this key and not started yet" }),
  })
  .openapi("FlowStatus");

const getRoute = createRoute({
  method: "get",
  path: "/v1/flows/{key}",
  tags: ["flows"],
  summary: "A flow key's settings (from the latest job naming it) and live counts",
  request: { params: FlowKeyParam },
  responses: { 200: jsonContent(FlowStatusSchema, "The flow"), ...errorResponses(400, 401, 403, 404) },
});

export function registerFlowRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(getRoute, async (c) => {
    const { key } = c.req.valid("param");
    const view = await flowGate(c.env.KEY_GATE, tenantOf(c), key).describe();
    // No job has named this key lately (or ever): to the caller it does not exist.
    if (!view) throw notFound("flow");
    return c.json(view, 200);
  });
}
