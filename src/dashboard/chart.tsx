// The throughput chart: per-minute stacked bars (succeeded, failed-and-retried, dead) as server-rendered SVG, no script.
import type { SeriesPoint } from "../metrics/snapshot";

const WIDTH = 600;
const HEIGHT = 150;
const KINDS = ["succeeded", "failed", "dead"] as const;
const LABELS: Record<(typeof KINDS)[number], string> = {
  succeeded: "succeeded",
  failed: "failed, retried",
  dead: "dead",
};

const clock = (minute: number) => new Date(minute * 60_000).toISOString().slice(11, 16);

export function ThroughputChart(props: { series: SeriesPoint[] }) {
  const { series } = props;
  const peak = Math.max(1, ...series.map((p) => p.succeeded + p.failed + p.dead));
  const slot = WIDTH / Math.max(1, series.length);
  const total = series.reduce((n, p) => n + p.succeeded + p.dead, 0);
  const first = series[0];
  const last = series[series.length - 1];
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Jobs finished per minute over the last ${series.length} minutes: ${total} in all, at most ${peak} attempts in one minute`}
      >
        <line x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} stroke="#c9ced6" stroke-width="1" />
        {series.map((point, i) => {
          let y = HEIGHT;
          return (
            <g>
              <title>{`${clock(point.minute)} UTC: ${point.succeeded} succeeded, ${point.failed} failed and retried, ${point.dead} dead`}</title>
              {KINDS.map((kind) => {
                const h = (point[kind] / peak) * (HEIGHT - 8);
                y -= h;
                return h > 0 ? (
                  <rect class={`bar-${kind}`} x={i * slot + 1} y={y} width={Math.max(1, slot - 2)} height={h} />
                ) : null;
              })}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {KINDS.map((kind) => (
          <span>
            <i class={`swatch sw-${kind}`} />
            {LABELS[kind]}
          </span>
        ))}
        <span class="muted">
          {first && last ? `${clock(first.minute)}–${clock(last.minute)} UTC, peak ${peak}/min` : ""}
        </span>
      </figcaption>
    </figure>
  );
}
