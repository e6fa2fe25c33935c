// /v1/dead: the dead-letter view and bulk replay.

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { DeadRetrySchema, JobPageSchema, ListDeadQuery } from "../../contract/schemas";
import { jobQueueOf } from "../../core/config";
import { listDead, requeueDeadStatement } from "../../db/jobs";
import { sendMessages } from "../../service/enqueue";
import { jobPage, requeueByHand } from "../../service/manage-jobs";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonBody, jsonContent } from "../openapi";
import { manageDeps } from "../request-context";

/** A replay by type or of all dead jobs moves at most this many per call (one statement); call again for more. */
const MAX_REPLAY = 1000;

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
  summary: `Replay dead jobs (by ids, at most 100; or by type, or all, at most ${MAX_REPLAY} per call)`,
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
    return c.json(jobPage(rows, query.limit), 200);
  });

  app.openapi(retryRoute, async (c) => {
    const { ids, type } = c.req.valid("json");
    if (ids) return c.json({ retried: (await requeueByHand(manageDeps(c), ids, ["dead"])).length }, 200);
    // Rows first, then their messages (a failed send is re-sent by the tick: requeued rows are watched).
    const now = Date.now();
    const rows = await requeueDeadStatement(c.var.db, tenantOf(c), type, MAX_REPLAY, now);
    await sendMessages(jobQueueOf(c.env), rows, now, c.var.log);
    return c.json({ retried: rows.length }, 200);
  });
}
