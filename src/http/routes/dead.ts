// /v1/dead: the dead-letter view and bulk replay.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { deadIds, listDead } from "../../db/jobs";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonBody, jsonContent } from "../openapi";
import { DeadRetrySchema, JobPageSchema, ListDeadQuery } from "../schemas";
import { page, requeueByHand } from "./jobs";

/** One replay request moves at most this many jobs; call again for more. */
const MAX_REPLAY = 100;

const listRoute = createRoute({
  method: "get",
  path: "/v1/dead",
  tags: ["dead letters"],
  summary: "List dead jobs, newest first",
  request: { query: ListDeadQuery },
  responses: { 200: jsonContent(JobPageSchema, "A page of dead jobs"), ...errorResponses(400, 401, 403) },
});

const retryRoute = createRoute({
  method: "post",
  path: "/v1/dead/retry",
  tags: ["dead letters"],
  summary: `Replay dead jobs (by ids, or by type, or all), at most ${MAX_REPLAY} per call`,
  request: { body: jsonBody(DeadRetrySchema) },
  responses: {
    200: jsonContent(z.object({ retried: z.number().int() }), "How many were requeued"),
    ...errorResponses(400, 401, 403),
  },
});

export function registerDeadRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listDead(c.var.db, tenantOf(c), query);
    return c.json(page(rows, query.limit), 200);
  });

  app.openapi(retryRoute, async (c) => {
    const { ids, type } = c.req.valid("json");
    const targets = ids ?? (await deadIds(c.var.db, tenantOf(c), type, MAX_REPLAY));
    const rows = await requeueByHand(c, targets, ["dead"]);
    return c.json({ retried: rows.length }, 200);
  });
}
