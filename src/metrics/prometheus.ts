// Prometheus text exposition (format 0.0.4): generic family rendering, and the metrics snapshot as families.
import type { MetricsSnapshot, TypeMetrics, WindowCounts } from "./snapshot";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Record<string, string>;
export type Sample = { labels: Labels; value: number };
export type Family = { name: string; help: string; type: "gauge" | "counter" | "summary"; samples: Sample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (text: string) => text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new Error(`invalid label name ${name}`);
    return `${name}="${escapeLabel(value)}"`;
  });
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/** Renders families in order; a family with no samples is left out. Names are checked: a bad one is a bug here. */
export function renderFamilies(families: Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`invalid metric name ${family.name}`);
    if (family.samples.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

type Spec = {
  name: string;
  help: string;
  type?: Family["type"];
  samples: (m: TypeMetrics) => { labels?: Labels; value: number }[];
};

const one = (value: number) => [{ value }];
const WINDOW_EVENTS: (keyof WindowCounts)[] = ["started", "succeeded", "failed", "dead", "deferred"];

/** Each spec becomes two families: the tenant's total, and edge_jobs_type_* with a `type` label. */
const SPECS: Spec[] = [
  { name: "depth", help: "Jobs queued and due, waiting for a consumer.", samples: (m) => one(m.depth) },
  {
    name: "oldest_age_seconds",
    help: "How long the oldest due queued job has been waiting.",
    samples: (m) => one(m.oldestAgeSeconds),
  },
  { name: "running", help: "Jobs running now.", samples: (m) => one(m.running) },
  { name: "retrying", help: "Jobs waiting for their retry backoff.", samples: (m) => one(m.retrying) },
  {
    name: "waiting",
    help: "Workflow jobs parked on a step: a sleep, an event or child jobs.",
    samples: (m) => one(m.waiting),
  },
  { name: "scheduled", help: "Jobs waiting for their runAt.", samples: (m) => one(m.scheduled) },
  { name: "dead", help: "Jobs in the dead-letter view.", samples: (m) => one(m.dead) },
  {
    name: "throughput_per_minute",
    help: "Jobs finished (succeeded or dead) per minute, averaged over the window.",
    samples: (m) => one(m.throughputPerMinute),
  },
  {
    name: "retry_rate",
    help: "Share of attempts in the window that failed and will be retried.",
    samples: (m) => one(m.retryRate),
  },
  {
    name: "failure_rate",
    help: "Share of jobs finished in the window that went dead.",
    samples: (m) => one(m.failureRate),
  },
  {
    // A summary of quantiles only, in seconds (Prometheus' base unit); the JSON keeps milliseconds.
    name: "attempt_duration_seconds",
    help: "Attempt duration percentiles over the window, estimated from histogram buckets.",
    type: "summary",
    samples: (m) =>
      (
        [
          ["0.5", m.durationMs.p50],
          ["0.95", m.durationMs.p95],
        ] as const
      ).flatMap(([quantile, ms]) => (ms == null ? [] : [{ labels: { quantile }, value: ms / 1000 }])),
  },
  {
    name: "window_events",
    help: "Attempts started, succeeded, failed (to be retried), dead, and flow-control deferrals in the window.",
    samples: (m) => WINDOW_EVENTS.map((event) => ({ labels: { event }, value: m.window[event] })),
  },
];

export function snapshotFamilies(snapshot: MetricsSnapshot, tenant: string): Family[] {
  const families: Family[] = [];
  const window = ` Window: the last ${snapshot.windowMinutes} minutes.`;
  for (const spec of SPECS) {
    const help = spec.name.includes("rate") || spec.name.startsWith("window") ? spec.help + window : spec.help;
    families.push({
      name: `edge_jobs_${spec.name}`,
      help,
      type: spec.type ?? "gauge",
      samples: spec.samples(snapshot).map((s) => ({ labels: { tenant, ...s.labels }, value: s.value })),
    });
  }
  for (const spec of SPECS) {
    families.push({
      name: `edge_jobs_type_${spec.name}`,
      help: `${spec.help} Per job type.`,
      type: spec.type ?? "gauge",
      samples: Object.entries(snapshot.byType).flatMap(([type, m]) =>
        spec.samples(m).map((s) => ({ labels: { tenant, type, ...s.labels }, value: s.value })),
      ),
    });
  }
  const lanes = Object.entries(snapshot.byQueue);
  families.push(
    {
      name: "edge_jobs_lane_depth",
      help: "The tenant's jobs ready to run, per lane (queue).",
      type: "gauge",
      samples: lanes.map(([queue, m]) => ({ labels: { tenant, queue }, value: m.depth })),
    },
    {
      name: "edge_jobs_lane_oldest_age_seconds",
      help: "Age of the tenant's oldest ready job, per lane (queue).",
      type: "gauge",
      samples: lanes.map(([queue, m]) => ({ labels: { tenant, queue }, value: m.oldestAgeSeconds })),
    },
    {
      name: "edge_jobs_lane_running",
      help: "The tenant's running jobs, per lane (queue).",
      type: "gauge",
      samples: lanes.map(([queue, m]) => ({ labels: { tenant, queue }, value: m.running })),
    },
    {
      name: "edge_jobs_lane_backlog_messages",
      help: "Messages in each lane's queue, for every tenant, as the queue reports it.",
      type: "gauge",
      samples: lanes.flatMap(([queue, m]) => (m.queue ? [{ labels: { queue }, value: m.queue.backlog }] : [])),
    },
  );
  if (snapshot.queue) {
    families.push(
      {
        name: "edge_jobs_queue_backlog_messages",
        help: "Messages in the jobs queue, for every tenant, as the queue reports it.",
        type: "gauge",
        samples: [{ labels: {}, value: snapshot.queue.backlog }],
      },
      {
        name: "edge_jobs_queue_oldest_age_seconds",
        help: "Age of the oldest message in the jobs queue, for every tenant.",
        type: "gauge",
        samples: [{ labels: {}, value: snapshot.queue.oldestAgeSeconds }],
      },
    );
  }
  return families;
}

export const renderSnapshot = (snapshot: MetricsSnapshot, tenant: string) =>
  renderFamilies(snapshotFamilies(snapshot, tenant));
