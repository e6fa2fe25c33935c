// The jobs list: status and type filters, newest first, paged by cursor.
import type { Child } from "hono/jsx";
import { JOB_STATUSES, type Job } from "../../contract/job";
import { query, relative } from "../format";
import { Page, StatusBadge } from "../layout";
import type { Flash, Session } from "../session";

export type JobsFilter = { status?: string; type?: string; batchId?: string; cursor?: string };

export function JobsTable(props: { jobs: Job[]; now: number; selectable?: boolean; rowActions?: (job: Job) => Child }) {
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            {props.selectable ? (
              <th>
                <input type="checkbox" data-select-all aria-label="select all" />
              </th>
            ) : null}
            <th>Job</th>
            <th>Type</th>
            <th>Status</th>
            <th>Attempts</th>
            <th>Created</th>
            <th>Updated</th>
            {props.selectable ? <th>Last error</th> : null}
            {props.rowActions ? <th>Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {props.jobs.map((job) => (
            <tr data-job-id={job.id}>
              {props.selectable ? (
                <td>
                  <input type="checkbox" name="ids" value={job.id} aria-label={`select ${job.id}`} />
                </td>
              ) : null}
              <td>
                <a href={`/dashboard/jobs/${job.id}`}>
                  <code>{job.id}</code>
                </a>
              </td>
              <td>{job.type}</td>
              <td>
                <StatusBadge status={job.status} />
              </td>
              <td>{`${job.attempts} / ${job.maxAttempts}`}</td>
              <td title={job.createdAt}>{relative(job.createdAt, props.now)}</td>
              <td title={job.updatedAt}>{relative(job.updatedAt, props.now)}</td>
              {props.selectable ? <td class="wrap">{job.error?.message ?? ""}</td> : null}
              {props.rowActions ? <td>{props.rowActions(job)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Pager(props: { base: string; filter: JobsFilter; nextCursor: string | null }) {
  const { status, type, batchId, cursor } = props.filter;
  return (
    <nav class="pager" aria-label="pages">
      {cursor ? (
        <a class="button" href={`${props.base}${query({ status, type, batchId })}`}>
          ← Newest
        </a>
      ) : null}
      {props.nextCursor ? (
        <a
          class="button"
          rel="next"
          href={`${props.base}${query({ status, type, batchId, cursor: props.nextCursor })}`}
        >
          Older →
        </a>
      ) : null}
    </nav>
  );
}

export function TypeSelect(props: { types: string[]; selected?: string }) {
  return (
    <label>
      Type
      <select name="type">
        <option value="">any type</option>
        {props.types.map((type) => (
          <option value={type} selected={type === props.selected}>
            {type}
          </option>
        ))}
      </select>
    </label>
  );
}

export function JobsPage(props: {
  session: Session;
  flash: Flash | null;
  jobs: Job[];
  nextCursor: string | null;
  filter: JobsFilter;
  types: string[];
  now: number;
}) {
  return (
    <Page title="Jobs" session={props.session} section="jobs" flash={props.flash}>
      <h1>Jobs</h1>
      <form class="filters" method="get" action="/dashboard/jobs">
        <label>
          Status
          <select name="status">
            <option value="">any status</option>
            {JOB_STATUSES.map((status) => (
              <option value={status} selected={status === props.filter.status}>
                {status}
              </option>
            ))}
          </select>
        </label>
        <TypeSelect types={props.types} selected={props.filter.type} />
        {props.filter.batchId ? (
          <label>
            Batch
            <input type="text" name="batchId" value={props.filter.batchId} readonly />
          </label>
        ) : null}
        <button type="submit">Filter</button>
      </form>
      {props.jobs.length === 0 ? <p class="muted">No jobs match.</p> : <JobsTable jobs={props.jobs} now={props.now} />}
      <Pager base="/dashboard/jobs" filter={props.filter} nextCursor={props.nextCursor} />
    </Page>
  );
}
