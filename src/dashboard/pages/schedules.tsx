// Schedules: each recurring job with its next and last fire, and pause, resume and run now.
import { relative } from "../format";
import { CsrfField, Page } from "../layout";
import type { Flash, Session } from "../session";

/** The fields of the contract's Schedule this page shows. */
export type ScheduleView = {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  type: string;
  enabled: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
};

function Action(props: { session: Session; id: string; action: string; label: string; primary?: boolean }) {
  return (
    <form method="post" action={`/dashboard/schedules/${props.id}/${props.action}`} class="inline">
      <CsrfField session={props.session} />
      <button type="submit" class={props.primary ? "small primary" : "small"}>
        {props.label}
      </button>
    </form>
  );
}

export function SchedulesPage(props: {
  session: Session;
  flash: Flash | null;
  schedules: ScheduleView[] | null;
  nextCursor: string | null;
  cursor?: string;
  now: number;
}) {
  const { session, schedules } = props;
  return (
    <Page title="Schedules" session={session} section="schedules" flash={props.flash}>
      <h1>Schedules</h1>
      {schedules === null ? (
        <p class="muted">This deployment has no schedules API.</p>
      ) : schedules.length === 0 ? (
        <p class="muted">
          No schedules. Create one with <code>POST /v1/schedules</code>.
        </p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Cron</th>
                <th>Type</th>
                <th>State</th>
                <th>Next run</th>
                <th>Last run</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {schedules.map((s) => (
                <tr data-schedule-id={s.id}>
                  <td>{s.name}</td>
                  <td>
                    <code>{s.cron}</code> <span class="muted">{s.timezone}</span>
                  </td>
                  <td>
                    <a href={`/dashboard/jobs?type=${encodeURIComponent(s.type)}`}>{s.type}</a>
                  </td>
                  <td>{s.enabled ? "active" : "paused"}</td>
                  <td title={s.nextRunAt ?? ""}>{s.enabled ? relative(s.nextRunAt, props.now) : "—"}</td>
                  <td title={s.lastRunAt ?? ""}>{relative(s.lastRunAt, props.now)}</td>
                  <td>
                    {s.enabled ? (
                      <Action session={session} id={s.id} action="pause" label="Pause" />
                    ) : (
                      <Action session={session} id={s.id} action="resume" label="Resume" />
                    )}{" "}
                    <Action session={session} id={s.id} action="run" label="Run now" primary />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="pages">
        {props.cursor ? (
          <a class="button" href="/dashboard/schedules">
            ← First
          </a>
        ) : null}
        {props.nextCursor ? (
          <a class="button" rel="next" href={`/dashboard/schedules?cursor=${encodeURIComponent(props.nextCursor)}`}>
            More →
          </a>
        ) : null}
      </nav>
    </Page>
  );
}
