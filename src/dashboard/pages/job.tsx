// One job: its fields, payload, result, last error, attempt log, and the actions its state allows.

import type { AttemptLogEntry, Job } from "../../contract/job";
import { canCancel, canDelete, canRetryByHand } from "../../core/state";
import { millis, prettyJson, relative } from "../format";
import { CsrfField, Page, StatusBadge } from "../layout";
import type { Flash, Session } from "../session";
import { StepTimeline, type StepView } from "./job-steps";

export type JobDetail = Job & { attemptLog: AttemptLogEntry[]; steps: StepView[] };

const Field = (props: { name: string; children?: unknown }) => (
  <>
    <dt>{props.name}</dt>
    <dd>{props.children ?? "—"}</dd>
  </>
);

function Action(props: { session: Session; job: Job; action: string; label: string; danger?: boolean }) {
  return (
    <form method="post" action={`/dashboard/jobs/${props.job.id}/${props.action}`}>
      <CsrfField session={props.session} />
      <button
        type="submit"
        class={props.danger ? "danger" : "primary"}
        data-confirm={props.danger ? `${props.label} ${props.job.id}?` : undefined}
      >
        {props.label}
      </button>
    </form>
  );
}

export function JobPage(props: { session: Session; flash: Flash | null; job: JobDetail; now: number }) {
  const { job, session, now } = props;
  const at = (iso: string | null) => (iso ? <span title={iso}>{relative(iso, now)}</span> : null);
  return (
    <Page title={job.id} session={session} section="jobs" flash={props.flash}>
      <h1>
        <code>{job.id}</code> <StatusBadge status={job.status} />
      </h1>
      <div class="actions">
        {canRetryByHand(job.status) ? <Action session={session} job={job} action="retry" label="Retry" /> : null}
        {canCancel(job.status) ? <Action session={session} job={job} action="cancel" label="Cancel" danger /> : null}
        {canDelete(job.status) ? <Action session={session} job={job} action="delete" label="Delete" danger /> : null}
      </div>
      <section class="panel">
        <dl class="fields">
          <Field name="Type">{job.type}</Field>
          <Field name="Attempts">{`${job.attempts} of ${job.maxAttempts}`}</Field>
          <Field name="Progress">{job.progress == null ? null : `${job.progress}%`}</Field>
          <Field name="Created">{at(job.createdAt)}</Field>
          <Field name="Run at">{at(job.runAt)}</Field>
          <Field name="Started">{at(job.startedAt)}</Field>
          <Field name="Finished">{at(job.finishedAt)}</Field>
          <Field name="Updated">{at(job.updatedAt)}</Field>
          <Field name="Idempotency key">{job.idempotencyKey}</Field>
          <Field name="Flow">{job.flow ? JSON.stringify(job.flow) : null}</Field>
          <Field name="Callback URL">{job.callbackUrl}</Field>
          <Field name="Queue">{job.queue}</Field>
          <Field name="Parent">
            {job.parentId ? (
              <a href={`/dashboard/jobs/${job.parentId}`}>
                <code>{job.parentId}</code>
              </a>
            ) : null}
          </Field>
          <Field name="Batch">
            {job.batchId ? (
              <a href={`/dashboard/batches/${job.batchId}`}>
                <code>{job.batchId}</code>
              </a>
            ) : null}
          </Field>
          <Field name="Metadata">
            {Object.keys(job.metadata).length > 0 ? <code>{JSON.stringify(job.metadata)}</code> : null}
          </Field>
        </dl>
      </section>
      {job.error ? (
        <section class="panel">
          <h2>Last error</h2>
          <p>
            <strong>{job.error.name}</strong>: {job.error.message}
          </p>
          <p class="muted">{`attempt ${job.error.attempt}, ${relative(job.error.at, now)}`}</p>
        </section>
      ) : null}
      <StepTimeline job={job} steps={job.steps} now={now} />
      <section class="panel">
        <h2>Payload</h2>
        <pre data-testid="payload">{prettyJson(job.payload)}</pre>
      </section>
      <section class="panel">
        <h2>Result</h2>
        <pre data-testid="result">{prettyJson(job.result)}</pre>
      </section>
      <section class="panel">
        <h2>Attempt log</h2>
        {job.attemptLog.length === 0 ? (
          <p class="muted">No failed or deferred attempts.</p>
        ) : (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>Attempt</th>
                  <th>Outcome</th>
                  <th>Started</th>
                  <th>Duration</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {job.attemptLog.map((entry) => (
                  <tr>
                    <td>{entry.attempt}</td>
                    <td>{entry.outcome}</td>
                    <td title={entry.startedAt}>{relative(entry.startedAt, now)}</td>
                    <td>{millis(entry.durationMs)}</td>
                    <td class="wrap">{entry.error ? `${entry.error.name}: ${entry.error.message}` : ""}</td>
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
