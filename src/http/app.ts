// The Hono app: middleware, routes, the OpenAPI document and the single error handler (the root mounts the dashboard).
import { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError, zodIssues } from "../contract/errors";
import { controlDbOf } from "../core/config";
import type { JobRegistry } from "../core/define-job";
import { newId } from "../core/ids";
import { log } from "../core/logger";
import { openDb } from "../db/client";
import type { AppEnv } from "./app-env";
import { authenticate, authorize } from "./auth";
import { onError } from "./errors";
import { registerBatchRoutes } from "./routes/batches";
import { registerDeadRoutes } from "./routes/dead";
import { registerDocsRoutes } from "./routes/docs";
import { registerEventRoutes } from "./routes/events";
import { registerFlowRoutes } from "./routes/flows";
import { registerJobTypeRoutes } from "./routes/job-types";
import { registerJobRoutes } from "./routes/jobs";
import { registerKeyRoutes } from "./routes/keys";
import { registerMetricsRoutes } from "./routes/metrics";
import { registerScheduleRoutes } from "./routes/schedules";
import { registerWebhookSecretRoutes } from "./routes/webhook-secret";

export function createApp(registry: JobRegistry) {
  const app = new OpenAPIHono<AppEnv>({
    // Every validation failure becomes the contract's 400 with its issues; nothing is written.
    defaultHook: (result) => {
      if (!result.success) {
        const where = result.target === "json" ? "" : result.target;
        throw new ApiError("invalid_request", "the request failed validation", zodIssues(result.error, where));
      }
    },
  });

  app.use("*", async (c, next) => {
    const requestId = c.req.header("cf-ray") ?? newId("req", Date.now());
    c.set("requestId", requestId);
    c.set("registry", registry);
    const control = openDb(controlDbOf(c.env));
    c.set("control", control);
    c.set("db", control);
    c.set("log", log.child({ requestId }));
    const started = Date.now();
    await next();
    c.header("x-request-id", requestId);
    c.var.log.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Date.now() - started,
    });
  });
  app.use("/v1/*", authenticate, authorize);
  app.use("/metrics", authenticate, authorize);

  app.get("/healthz", (c) => c.json({ ok: true }));
  registerJobRoutes(app);
  registerDeadRoutes(app);
  registerFlowRoutes(app);
  registerKeyRoutes(app);
  registerMetricsRoutes(app);
  registerScheduleRoutes(app);
  registerWebhookSecretRoutes(app);
  registerEventRoutes(app);
  registerJobTypeRoutes(app);
  registerBatchRoutes(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "A tenant API key, or the admin token for /v1/keys",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edge Jobs",
      version: "1.0.0",
      description: "Background jobs on Cloudflare Workers: enqueue over HTTP, processed from Queues, recorded in D1.",
    },
    security: [{ apiKey: [] }],
  });
  registerDocsRoutes(app);

  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError(onError);
  return app;
}
