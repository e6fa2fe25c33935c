// GET /v1/metrics (JSON) and GET /metrics (Prometheus text): the tenant's queue health, read cheaply.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { jobQueueOf } from "../../core/config";
import { PROMETHEUS_CONTENT_TYPE, renderSnapshot } from "../../metrics/prometheus";
import { collectMetrics, WINDOW_MINUTES } from "../../service/read-metrics";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonContent } from "../openapi";

const WindowSchema = z.object({
  started: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int().openapi({ description: "attempts that failed and will be retried" }),
  dead: z.number().int(),
  deferred: z.number().int(),
});

const TypeMetricsSchema = z.object({
  depth: z.number().int().openapi({ description: "queued jobs that are due, waiting for a consumer" }),
  oldestAgeSeconds: z.number().int().openapi({ description: "how long the oldest due queued job has waited" }),
  running: z.number().int(),
  retrying: z.number().int(),
  waiting: z.number().int().openapi({ description: "workflow jobs parked on a sleep, an event or child jobs" }),
  dead: z.number().int(),
  scheduled: z.number().int().openapi({ description: "jobs waiting for their runAt" }),
  throughputPerMinute: z.number().openapi({ description: "jobs finished (succeeded or dead) per minute" }),
  retryRate: z.number().openapi({ description: "share of ended attempts that failed and will be retried" }),
  failureRate: z.number().openapi({ description: "share of finished jobs that went dead" }),
  durationMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  window: WindowSchema,
});

export const MetricsSchema = TypeMetricsSchema.extend({
  windowMinutes: z.number().int(),
  byType: z.record(z.string(), TypeMetricsSchema),
  byQueue: z
    .record(
      z.string(),
      TypeMetricsSchema.pick({
        depth: true,
        oldestAgeSeconds: true,
        running: true,
        retrying: true,
        waiting: true,
        dead: true,
        scheduled: true,
      }).extend({
        queue: z
          .object({ backlog: z.number().int(), oldestAgeSeconds: z.number().int() })
          .nullable()
          .openapi({ description: "the lane's queue backlog (all tenants), when the runtime reports it" }),
      }),
    )
    .openapi({ description: "the tenant's jobs per lane (every declared lane), with each lane's queue backlog" }),
  queue: z
    .object({ backlog: z.number().int(), oldestAgeSeconds: z.number().int() })
    .nullable()
    .openapi({ description: "the whole queue's backlog (all tenants), when the runtime reports it" }),
  generatedAt: z.string(),
}).openapi("Metrics");

const jsonRoute = createRoute({
  method: "get",
  path: "/v1/metrics",
  tags: ["operations"],
  summary: `Queue health for the tenant: depth, ages, states, and rates over the last ${WINDOW_MINUTES} minutes`,
  responses: { 200: jsonContent(MetricsSchema, "The tenant's metrics"), ...errorResponses(401, 403) },
});

const prometheusRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["operations"],
  summary: "The same metrics in Prometheus text exposition format",
  responses: {
    200: { content: { "text/plain": { schema: z.string() } }, description: "Prometheus text format 0.0.4" },
    ...errorResponses(401, 403),
  },
});

export function registerMetricsRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(jsonRoute, async (c) => {
    const { snapshot } = await collectMetrics(c.var.db, c.env.DB, jobQueueOf(c.env), tenantOf(c), Date.now());
    return c.json(snapshot, 200);
  });

  app.openapi(prometheusRoute, async (c) => {
    const tenant = tenantOf(c);
    const { snapshot } = await collectMetrics(c.var.db, c.env.DB, jobQueueOf(c.env), tenant, Date.now());
    return c.text(renderSnapshot(snapshot, tenant), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });
}
