// Dead letters: the jobs that gave up, with retry and discard, one at a time or in bulk.
import type { Job } from "../../contract/job";
import { CsrfField, Page } from "../layout";
import type { Flash, Session } from "../session";
import { type JobsFilter, JobsTable, Pager, TypeSelect } from "./jobs";

export function DeadPage(props: {
  session: Session;
  flash: Flash | null;
  jobs: Job[];
  nextCursor: string | null;
  filter: JobsFilter;
  types: string[];
  now: number;
}) {
  const { session, filter } = props;
  const scope = filter.type ? `dead ${filter.type} jobs` : "dead jobs";
  return (
    <Page title="Dead letters" session={session} section="dead" flash={props.flash}>
      <h1>Dead letters</h1>
      <form class="filters" method="get" action="/dashboard/dead">
        <TypeSelect types={props.types} selected={filter.type} />
        <button type="submit">Filter</button>
      </form>
      {props.jobs.length === 0 ? (
        <p class="muted">No dead jobs{filter.type ? ` of type ${filter.type}` : ""}.</p>
      ) : (
        <>
          <form method="post" action="/dashboard/dead/retry-all" class="actions">
            <CsrfField session={session} />
            <input type="hidden" name="type" value={filter.type ?? ""} />
            <button type="submit" data-confirm={`Retry up to 1,000 ${scope}?`}>
              Retry all {scope} (up to 1,000 a click)
            </button>
          </form>
          <form method="post" action="/dashboard/dead/retry">
            <CsrfField session={session} />
            <input
              type="hidden"
              name="back"
              value={`/dashboard/dead${filter.type ? `?type=${encodeURIComponent(filter.type)}` : ""}`}
            />
            <div class="actions">
              <button type="submit" class="primary">
                Retry selected
              </button>
              <button
                type="submit"
                class="danger"
                formaction="/dashboard/dead/discard"
                data-confirm="Discard the selected dead jobs for good?"
              >
                Discard selected
              </button>
            </div>
            <JobsTable
              jobs={props.jobs}
              now={props.now}
              selectable
              rowActions={(job) => (
                <>
                  <button type="submit" class="small" formaction={`/dashboard/jobs/${job.id}/retry`}>
                    Retry
                  </button>{" "}
                  <button
                    type="submit"
                    class="small danger"
                    formaction={`/dashboard/jobs/${job.id}/delete`}
                    data-confirm={`Discard ${job.id} for good?`}
                  >
                    Discard
                  </button>
                </>
              )}
            />
          </form>
        </>
      )}
      <Pager base="/dashboard/dead" filter={filter} nextCursor={props.nextCursor} />
    </Page>
  );
}
