// /v1/events: send an event; it completes the tenant's matching waitForEvent waits and wakes their jobs.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { SendEventSchema, SentEventSchema } from "../../contract/events";
import { eventDepsOf, sendEvent } from "../../service/events";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonBody, jsonContent } from "../openapi";

const sendRoute = createRoute({
  method: "post",
  path: "/v1/events",
  tags: ["events"],
  summary: "Send an event: completes every matching waitForEvent wait of the tenant, now or within 60 s after",
  request: { body: jsonBody(SendEventSchema) },
  responses: {
    202: jsonContent(SentEventSchema, "Accepted: the event is stored and the waits it matched are completed"),
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

export function registerEventRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(sendRoute, async (c) => {
    const input = c.req.valid("json");
    const sent = await sendEvent(input, eventDepsOf(c.env, { tenant: tenantOf(c), log: c.var.log }));
    return c.json(sent, 202);
  });
}
