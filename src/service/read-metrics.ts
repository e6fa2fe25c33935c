// Reading a tenant's metrics (state counts, counter rows, the queue's backlog), for the metrics routes and the dashboard.
import { DEFAULT_LANE, type LaneRouter } from "../core/lanes";
import type { Db } from "../db/client";
import { readMinuteRows, readStateCounts } from "../db/metrics";
import { buildSnapshot, type MetricsSnapshot, type MinuteRow, type QueueBacklog } from "../metrics/snapshot";
import { minuteOf } from "../metrics/tally";
import { RESCUE_WINDOW_MS } from "./enqueue";

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
 * (one primary-key range read) and each lane's queue backlog. The rows come back too, for the dashboard's chart.
 */
export async function collectMetrics(
  db: Db,
  d1: D1Database,
  lanes: LaneRouter,
  tenant: string,
  now: number,
  historyMinutes = WINDOW_MINUTES,
): Promise<{ snapshot: MetricsSnapshot; minutes: MinuteRow[] }> {
  const fromMinute = minuteOf(now) - Math.max(historyMinutes, WINDOW_MINUTES) + 1;
  const names = lanes.lanes;
  const [states, minutes, ...backlogs] = await Promise.all([
    readStateCounts(d1, tenant, { now, windowMs: RESCUE_WINDOW_MS, cap: COUNT_CAP }),
    readMinuteRows(db, tenant, fromMinute),
    ...names.map((name) => readQueueBacklog(lanes.queueOf(name))),
  ]);
  const laneBacklogs = names.map((name, i) => ({ name, backlog: (backlogs[i] as QueueBacklog | null) ?? null }));
  const snapshot = buildSnapshot({
    now,
    windowMinutes: WINDOW_MINUTES,
    states,
    minutes,
    // `queue` stays the default lane's backlog, as before lanes.
    queue: laneBacklogs.find((lane) => lane.name === DEFAULT_LANE)?.backlog ?? null,
    lanes: laneBacklogs,
  });
  return { snapshot, minutes };
}
