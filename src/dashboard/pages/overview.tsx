// The overview: the tenant's metrics at a glance, the throughput chart, and the same numbers per job type.
import type { MetricsSnapshot, SeriesPoint } from "../../metrics/snapshot";
import { ThroughputChart } from "../chart";
import { duration, millis, percent } from "../format";
import { Page } from "../layout";
import type { Flash, Session } from "../session";

const Card = (props: { label: string; value: string | number; href?: string }) => (
  <div class="card">
    <div class="label">{props.label}</div>
    <div class="value">{props.href ? <a href={props.href}>{props.value}</a> : props.value}</div>
  </div>
);

export function OverviewPage(props: {
  session: Session;
  flash: Flash | null;
  snapshot: MetricsSnapshot;
  series: SeriesPoint[];
}) {
  const m = props.snapshot;
  const types = Object.entries(m.byType);
  return (
    <Page title="Overview" session={props.session} section="overview" flash={props.flash}>
      <h1>Overview</h1>
      <div class="cards" data-testid="metrics">
        <Card label="Queued (depth)" value={m.depth} href="/dashboard/jobs?status=queued" />
        <Card label="Oldest waiting" value={duration(m.oldestAgeSeconds)} />
        <Card label="Running" value={m.running} href="/dashboard/jobs?status=running" />
        <Card label="Retrying" value={m.retrying} href="/dashboard/jobs?status=retrying" />
        <Card label="Waiting (workflows)" value={m.waiting} href="/dashboard/jobs?status=waiting" />
        <Card label="Scheduled" value={m.scheduled} href="/dashboard/jobs?status=scheduled" />
        <Card label="Dead" value={m.dead} href="/dashboard/dead" />
        <Card label="Throughput" value={`${m.throughputPerMinute}/min`} />
        <Card label="Retry rate" value={percent(m.retryRate)} />
        <Card label="Failure rate" value={percent(m.failureRate)} />
        <Card label="Duration p50 / p95" value={`${millis(m.durationMs.p50)} / ${millis(m.durationMs.p95)}`} />
      </div>
      <p class="muted">
        Rates, throughput and durations cover the last {m.windowMinutes} minutes.
        {m.queue ? ` The queue holds ${m.queue.backlog} messages for all tenants.` : ""}
      </p>
      <section class="panel">
        <h2>Throughput, last {props.series.length} minutes</h2>
        <ThroughputChart series={props.series} />
      </section>
      <section class="panel" data-testid="lanes">
        <h2>By lane</h2>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Lane</th>
                <th>Queued</th>
                <th>Oldest waiting</th>
                <th>Running</th>
                <th>Retrying</th>
                <th>Waiting</th>
                <th>Scheduled</th>
                <th>Dead</th>
                <th>Queue backlog (all tenants)</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(m.byQueue).map(([lane, q]) => (
                <tr>
                  <td>{lane}</td>
                  <td>{q.depth}</td>
                  <td>{duration(q.oldestAgeSeconds)}</td>
                  <td>{q.running}</td>
                  <td>{q.retrying}</td>
                  <td>{q.waiting}</td>
                  <td>{q.scheduled}</td>
                  <td>{q.dead}</td>
                  <td>{q.queue ? q.queue.backlog : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="panel">
        <h2>By job type</h2>
        {types.length === 0 ? (
          <p class="muted">No jobs yet.</p>
        ) : (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>Type</th>
                  <th>Queued</th>
                  <th>Running</th>
                  <th>Retrying</th>
                  <th>Waiting</th>
                  <th>Scheduled</th>
                  <th>Dead</th>
                  <th>Per min</th>
                  <th>Retry rate</th>
                  <th>Failure rate</th>
                  <th>p50 / p95</th>
                </tr>
              </thead>
              <tbody>
                {types.map(([type, t]) => (
                  <tr>
                    <td>
                      <a href={`/dashboard/jobs?type=${encodeURIComponent(type)}`}>{type}</a>
                    </td>
                    <td>{t.depth}</td>
                    <td>{t.running}</td>
                    <td>{t.retrying}</td>
                    <td>{t.waiting}</td>
                    <td>{t.scheduled}</td>
                    <td>
                      {t.dead > 0 ? <a href={`/dashboard/dead?type=${encodeURIComponent(type)}`}>{t.dead}</a> : 0}
                    </td>
                    <td>{t.throughputPerMinute}</td>
                    <td>{percent(t.retryRate)}</td>
                    <td>{percent(t.failureRate)}</td>
                    <td>{`${millis(t.durationMs.p50)} / ${millis(t.durationMs.p95)}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Page>
  );
}
