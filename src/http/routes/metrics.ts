// GET /v1/metrics (JSON) and GET /metrics (Prometheus text): the tenant's queue health, read cheaply.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import { readMinuteRows, readStateCounts } from "../../db/metrics";
import { PROMETHEUS_CONTENT_TYPE, renderSnapshot } from "../../metrics/prometheus";
import { buildSnapshot, type MetricsSnapshot, type MinuteRow, type QueueBacklog } from "../../metrics/snapshot";
import { minuteOf } from "../../metrics/tally";
import { RESCUE_WINDOW_MS } from "../../service/enqueue";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonContent } from "../openapi";

/** Rates, throughput and percentiles cover this many minutes, the current one included. */
export const WINDOW_MINUTES = 15;
/** No state count reads more rows than this (see db/metrics.ts). */
const COUNT_CAP = 50_000;
/** The queue's metrics() is a remote call in production; a slow answer is skipped, not waited for. */
const QUEUE_METRICS_TIMEOUT_MS = 1_000;

/** The queue's own backlog, where the runtime offers metrics() (production Queues; not every local runtime). */
export async function readQueueBacklog(queue: Queue): Promise<QueueBacklog | null> {
  const maybe = queue as Partial<Pick<Queue, "metrics">>;
  if (typeof maybe.metrics !== "function") return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const metrics = await Promise.race([
      maybe.metrics.call(queue),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), QUEUE_METRICS_TIMEOUT_MS);
      }),
    ]);
    if (!metrics || typeof metrics.backlogCount !== "number") return null;
    const oldest = metrics.oldestMessageTimestamp ? new Date(metrics.oldestMessageTimestamp).getTime() : null;
    return { messages: metrics.backlogCount, oldestAt: Number.isFinite(oldest) ? oldest : null };
  } catch {
    return null;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * Reads everything the metrics need: state counts (one D1 batch), counter rows for `historyMinutes`
 * (one primary-key range read) and the queue's backlog. The rows come back too, for the dashboard's chart.
 */
export async function collectMetrics(
  db: Db,
  d1: D1Database,
  queue: Queue,
  tenant: string,
  now: number,
  historyMinutes = WINDOW_MINUTES,
): Promise<{ snapshot: MetricsSnapshot; minutes: MinuteRow[] }> {
  const fromMinute = minuteOf(now) - Math.max(historyMinutes, WINDOW_MINUTES) + 1;
  const [states, minutes, backlog] = await Promise.all([
    readStateCounts(d1, tenant, { now, windowMs: RESCUE_WINDOW_MS, cap: COUNT_CAP }),
    readMinuteRows(db, tenant, fromMinute),
    readQueueBacklog(queue),
  ]);
  const snapshot = buildSnapshot({ now, windowMinutes: WINDOW_MINUTES, states, minutes, queue: backlog });
  return { snapshot, minutes };
}

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
    const { snapshot } = await collectMetrics(c.var.db, c.env.DB, c.env.JOBS_QUEUE, tenantOf(c), Date.now());
    return c.json(snapshot, 200);
  });

  app.openapi(prometheusRoute, async (c) => {
    const tenant = tenantOf(c);
    const { snapshot } = await collectMetrics(c.var.db, c.env.DB, c.env.JOBS_QUEUE, tenant, Date.now());
    return c.text(renderSnapshot(snapshot, tenant), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });
}
