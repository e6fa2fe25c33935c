// Folds the raw readings (state counts, per-minute counters, the queue's backlog) into the metrics the API reports.
import { addBuckets, type Buckets, emptyBuckets, percentile } from "./buckets";
import type { Counters } from "./tally";

/**
 * Where a job stands, as the metrics see it: `ready` is queued and due (the depth), `delayed` is
 * queued but held by the queue's delay (reported with `scheduled`), `waiting` is parked by a workflow step.
 */
export type JobState = "ready" | "delayed" | "running" | "retrying" | "waiting" | "scheduled" | "dead";

/** How many jobs of one type in one lane are in one state; `oldestAt` (ms) is the earliest due time, for `ready`. */
export type StateCount = { type: string; queue?: string; state: JobState; count: number; oldestAt: number | null };

/** One per-minute counter row of one type, as read back from metrics_minute. */
export type MinuteRow = { minute: number; type: string } & Counters;

export type QueueBacklog = { messages: number; oldestAt: number | null };

export type WindowCounts = { started: number; succeeded: number; failed: number; dead: number; deferred: number };

export type TypeMetrics = {
  depth: number;
  oldestAgeSeconds: number;
  running: number;
  retrying: number;
  /** Workflow jobs parked on a sleep, an event or child jobs. */
  waiting: number;
  dead: number;
  scheduled: number;
  throughputPerMinute: number;
  retryRate: number;
  failureRate: number;
  durationMs: { p50: number | null; p95: number | null };
  window: WindowCounts;
};

type Backlog = { backlog: number; oldestAgeSeconds: number };

/** One lane's jobs of the tenant by state, and its queue's backlog (every tenant) when the runtime reports it. */
export type LaneMetrics = Pick<
  TypeMetrics,
  "depth" | "oldestAgeSeconds" | "running" | "retrying" | "waiting" | "dead" | "scheduled"
> & { queue: Backlog | null };

export type MetricsSnapshot = TypeMetrics & {
  windowMinutes: number;
  byType: Record<string, TypeMetrics>;
  /** Every declared lane (and any lane a job still names), by name. */
  byQueue: Record<string, LaneMetrics>;
  /** The whole queue's backlog (every tenant), when the runtime reports it. */
  queue: { backlog: number; oldestAgeSeconds: number } | null;
  generatedAt: string;
};

export type SnapshotInput = {
  now: number;
  windowMinutes: number;
  states: StateCount[];
  /** Counter rows of the window (callers may pass more; older minutes are ignored). */
  minutes: MinuteRow[];
  queue: QueueBacklog | null;
  /** The deployment's lanes with their queues' backlogs; each gets a byQueue entry even when empty. */
  lanes?: { name: string; backlog: QueueBacklog | null }[];
};

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const ageSeconds = (now: number, at: number | null) => (at == null ? 0 : Math.max(0, Math.floor((now - at) / 1000)));

type Accumulator = { states: StateCount[]; window: WindowCounts; buckets: Buckets };

function emptyAccumulator(): Accumulator {
  return { states: [], window: { started: 0, succeeded: 0, failed: 0, dead: 0, deferred: 0 }, buckets: emptyBuckets() };
}

function addMinute(acc: Accumulator, row: MinuteRow) {
  acc.window.started += row.started;
  acc.window.succeeded += row.succeeded;
  acc.window.failed += row.failed;
  acc.window.dead += row.dead;
  acc.window.deferred += row.deferred;
  acc.buckets = addBuckets(acc.buckets, row.buckets);
}

function finish(acc: Accumulator, now: number, windowMinutes: number): TypeMetrics {
  const sum = (state: JobState) => acc.states.filter((s) => s.state === state).reduce((n, s) => n + s.count, 0);
  const oldestReady = acc.states
    .filter((s) => s.state === "ready" && s.count > 0 && s.oldestAt != null)
    .reduce<number | null>((min, s) => (min == null || (s.oldestAt as number) < min ? s.oldestAt : min), null);
  const { succeeded, failed, dead } = acc.window;
  const ended = succeeded + failed + dead;
  return {
    depth: sum("ready"),
    oldestAgeSeconds: ageSeconds(now, oldestReady),
    running: sum("running"),
    retrying: sum("retrying"),
    waiting: sum("waiting"),
    dead: sum("dead"),
    scheduled: sum("scheduled") + sum("delayed"),
    throughputPerMinute: round((succeeded + dead) / windowMinutes, 3),
    // Of the attempts that ended, the share that failed and will be retried.
    retryRate: ended === 0 ? 0 : round(failed / ended, 4),
    // Of the jobs that finished, the share that went dead.
    failureRate: succeeded + dead === 0 ? 0 : round(dead / (succeeded + dead), 4),
    durationMs: { p50: percentile(acc.buckets, 0.5), p95: percentile(acc.buckets, 0.95) },
    window: { ...acc.window },
  };
}

const backlogOf = (backlog: QueueBacklog | null, now: number): Backlog | null =>
  backlog ? { backlog: backlog.messages, oldestAgeSeconds: ageSeconds(now, backlog.oldestAt) } : null;

export function buildSnapshot(input: SnapshotInput): MetricsSnapshot {
  const firstMinute = Math.floor(input.now / 60_000) - input.windowMinutes + 1;
  const total = emptyAccumulator();
  const byType = new Map<string, Accumulator>();
  const of = (type: string) => {
    let acc = byType.get(type);
    if (!acc) {
      acc = emptyAccumulator();
      byType.set(type, acc);
    }
    return acc;
  };
  for (const state of input.states) {
    total.states.push(state);
    of(state.type).states.push(state);
  }
  for (const row of input.minutes) {
    if (row.minute < firstMinute) continue;
    addMinute(total, row);
    addMinute(of(row.type), row);
  }
  const types = [...byType.keys()].sort();
  const lanes = new Map<string, { acc: Accumulator; backlog: QueueBacklog | null }>();
  for (const lane of input.lanes ?? []) lanes.set(lane.name, { acc: emptyAccumulator(), backlog: lane.backlog });
  for (const state of input.states) {
    const name = state.queue ?? "default";
    let lane = lanes.get(name);
    if (!lane) {
      lane = { acc: emptyAccumulator(), backlog: null };
      lanes.set(name, lane);
    }
    lane.acc.states.push(state);
  }
  const byQueue: Record<string, LaneMetrics> = {};
  for (const name of [...lanes.keys()].sort()) {
    const { acc, backlog } = lanes.get(name) as { acc: Accumulator; backlog: QueueBacklog | null };
    const m = finish(acc, input.now, input.windowMinutes);
    byQueue[name] = {
      depth: m.depth,
      oldestAgeSeconds: m.oldestAgeSeconds,
      running: m.running,
      retrying: m.retrying,
      waiting: m.waiting,
      dead: m.dead,
      scheduled: m.scheduled,
      queue: backlogOf(backlog, input.now),
    };
  }
  return {
    ...finish(total, input.now, input.windowMinutes),
    windowMinutes: input.windowMinutes,
    byType: Object.fromEntries(
      types.map((type) => [type, finish(byType.get(type) as Accumulator, input.now, input.windowMinutes)]),
    ),
    byQueue,
    queue: backlogOf(input.queue, input.now),
    generatedAt: new Date(input.now).toISOString(),
  };
}

export type SeriesPoint = { minute: number; succeeded: number; failed: number; dead: number };

/** Per-minute outcomes of the last `minutes` minutes, oldest first, with empty minutes filled in (for the chart). */
export function throughputSeries(rows: MinuteRow[], now: number, minutes: number): SeriesPoint[] {
  const last = Math.floor(now / 60_000);
  const points = Array.from({ length: minutes }, (_, i) => ({
    minute: last - minutes + 1 + i,
    succeeded: 0,
    failed: 0,
    dead: 0,
  }));
  for (const row of rows) {
    const point = points[row.minute - (last - minutes + 1)];
    if (!point) continue;
    point.succeeded += row.succeeded;
    point.failed += row.failed;
    point.dead += row.dead;
  }
  return points;
}
