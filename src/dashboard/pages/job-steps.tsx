// A workflow job's step timeline on its page: what it is parked on, then each step with its times, outcome and child.
import type { Job } from "../../contract/job";
import { millis, relative } from "../format";
import { StatusBadge } from "../layout";

/** One step as GET /v1/jobs/:id answers it. */
export type StepView = {
  name: string;
  kind: "run" | "sleep" | "event" | "invoke";
  status: "waiting" | "succeeded" | "failed" | "timed_out";
  result?: unknown;
  error: { message: string; name: string; childStatus?: string } | null;
  startedAt: string;
  finishedAt: string | null;
  childId?: string;
};

/** A result or error shown in a table cell: one line, cut short (the full payload and result have their own panels). */
const EXCERPT = 120;
function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  return text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…` : text;
}

const ChildLink = (props: { id: string }) => (
  <a href={`/dashboard/jobs/${props.id}`}>
    <code>{props.id}</code>
  </a>
);

/** "a sleep until …", "the event payment.captured (key o-1), until …", "child jobs …", in words. */
function WaitingFor(props: { waitingFor: NonNullable<Job["waitingFor"]>; now: number }) {
  const w = props.waitingFor;
  const until = (iso: string) => <span title={iso}>{relative(iso, props.now)}</span>;
  if (w.kind === "sleep") return <p data-testid="waiting-for">Sleeping; wakes {until(w.until)}.</p>;
  if (w.kind === "event") {
    return (
      <p data-testid="waiting-for">
        Waiting for the event <code>{w.event}</code>
        {w.key === undefined ? (
          " (any key)"
        ) : (
          <>
            {" "}
            with key <code>{w.key}</code>
          </>
        )}
        ; times out {until(w.until)}.
      </p>
    );
  }
  return (
    <p data-testid="waiting-for">
      Waiting for {w.jobIds.length === 1 ? "the child job" : `${w.jobIds.length} child jobs`}:{" "}
      {w.jobIds.map((id, i) => (
        <>
          {i > 0 ? ", " : ""}
          <ChildLink id={id} />
        </>
      ))}
      .
    </p>
  );
}

const durationOf = (step: StepView) =>
  step.finishedAt ? millis(Date.parse(step.finishedAt) - Date.parse(step.startedAt)) : "—";

export function StepTimeline(props: { job: Job; steps: StepView[]; now: number }) {
  const { job, steps, now } = props;
  if (steps.length === 0 && !job.waitingFor) return null;
  return (
    <section class="panel" data-testid="steps">
      <h2>Steps</h2>
      {job.waitingFor ? <WaitingFor waitingFor={job.waitingFor} now={now} /> : null}
      {steps.length === 0 ? (
        <p class="muted">No step recorded yet.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>Step</th>
                <th>Kind</th>
                <th>Status</th>
                <th>Started</th>
                <th>Finished</th>
                <th>Duration</th>
                <th>Result or error</th>
                <th>Child</th>
              </tr>
            </thead>
            <tbody>
              {steps.map((step, i) => (
                <tr data-step={step.name}>
                  <td>{i + 1}</td>
                  <td>
                    <code>{step.name}</code>
                  </td>
                  <td>{step.kind}</td>
                  <td>
                    <StatusBadge status={step.status} />
                  </td>
                  <td title={step.startedAt}>{relative(step.startedAt, now)}</td>
                  <td title={step.finishedAt ?? undefined}>{step.finishedAt ? relative(step.finishedAt, now) : "—"}</td>
                  <td>{durationOf(step)}</td>
                  <td class="wrap">
                    {step.error ? (
                      `${step.error.name}: ${step.error.message}`
                    ) : step.status === "waiting" ? (
                      ""
                    ) : (
                      <code>{excerpt(step.result ?? null)}</code>
                    )}
                  </td>
                  <td>{step.childId ? <ChildLink id={step.childId} /> : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
