// Batches: each batch with its progress (succeeded / dead / cancelled of total), one batch with its jobs, Close and Cancel.
import type { Context, Hono } from "hono";
import type { Batch } from "../../contract/batches";
import type { Job } from "../../contract/job";
import { type AppFetch, apiFor } from "../api-client";
import { relative } from "../format";
import { CsrfField, Page } from "../layout";
import { type DashboardEnv, type Flash, type Session, sameOrigin, setFlash, takeFlash, validCsrf } from "../session";

const BATCH_ID = /^bat_[0-9A-Z]{26}$/;
const STATUSES = ["running", "succeeded", "completed"] as const;

/** A bar of the finished share, split by outcome; the numbers beside it are the source of truth. */
function Progress(props: { batch: Batch }) {
  const { total, succeeded, dead, cancelled } = props.batch;
  const pct = (n: number) => (total === 0 ? 0 : Math.round((n / total) * 1000) / 10);
  return (
    <span class="progress" title={`${succeeded} succeeded, ${dead} dead, ${cancelled} cancelled of ${total}`}>
      <span
        class="bar"
        style={`display:inline-block;width:8em;height:0.6em;background:#ddd;vertical-align:middle;overflow:hidden`}
      >
        <span style={`display:inline-block;height:100%;width:${pct(succeeded)}%;background:#2a7`} />
        <span style={`display:inline-block;height:100%;width:${pct(dead)}%;background:#c33`} />
        <span style={`display:inline-block;height:100%;width:${pct(cancelled)}%;background:#999`} />
      </span>{" "}
      <span data-counts>
        {succeeded + dead + cancelled}/{total}
      </span>
      {dead > 0 ? <span class="muted"> · {dead} dead</span> : null}
      {cancelled > 0 ? <span class="muted"> · {cancelled} cancelled</span> : null}
    </span>
  );
}

function Action(props: { session: Session; id: string; action: "close" | "cancel"; label: string }) {
  return (
    <form method="post" action={`/dashboard/batches/${props.id}/${props.action}`} class="inline">
      <CsrfField session={props.session} />
      <button
        type="submit"
        class="small"
        data-confirm={props.action === "cancel" ? "Cancel every job of this batch that has not started?" : undefined}
      >
        {props.label}
      </button>
    </form>
  );
}

export function BatchesPage(props: {
  session: Session;
  flash: Flash | null;
  batches: Batch[];
  nextCursor: string | null;
  status?: string;
  now: number;
}) {
  const { session } = props;
  return (
    <Page title="Batches" session={session} section="batches" flash={props.flash}>
      <h1>Batches</h1>
      <nav class="filters" aria-label="status">
        <a href="/dashboard/batches">all</a>
        {STATUSES.map((s) => (
          <>
            {" · "}
            <a href={`/dashboard/batches?status=${s}`}>{props.status === s ? <strong>{s}</strong> : s}</a>
          </>
        ))}
      </nav>
      {props.batches.length === 0 ? (
        <p class="muted">
          No batches. Create one with <code>POST /v1/batches</code>.
        </p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Batch</th>
                <th>Description</th>
                <th>Status</th>
                <th>Progress</th>
                <th>Created</th>
                <th>Finished</th>
              </tr>
            </thead>
            <tbody>
              {props.batches.map((b) => (
                <tr data-batch-id={b.id}>
                  <td>
                    <a href={`/dashboard/batches/${b.id}`}>
                      <code>{b.id}</code>
                    </a>
                  </td>
                  <td>{b.description ?? ""}</td>
                  <td>
                    {b.status}
                    {b.open ? <span class="muted"> (open)</span> : null}
                  </td>
                  <td>
                    <Progress batch={b} />
                  </td>
                  <td title={b.createdAt}>{relative(b.createdAt, props.now)}</td>
                  <td title={b.finishedAt ?? ""}>{relative(b.finishedAt, props.now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="pages">
        {props.nextCursor ? (
          <a
            class="button"
            rel="next"
            href={`/dashboard/batches?${new URLSearchParams({ ...(props.status ? { status: props.status } : {}), cursor: props.nextCursor })}`}
          >
            More →
          </a>
        ) : null}
      </nav>
    </Page>
  );
}

export function BatchPage(props: { session: Session; flash: Flash | null; batch: Batch; jobs: Job[]; now: number }) {
  const { session, batch } = props;
  return (
    <Page title={`Batch ${batch.id}`} session={session} section="batches" flash={props.flash}>
      <h1>
        Batch <code>{batch.id}</code>
      </h1>
      <p>
        {batch.description ? <>{batch.description} · </> : null}
        <strong data-status>{batch.status}</strong>
        {batch.open ? " (open: jobs may still be added)" : ""} · <Progress batch={batch} /> · {batch.pending} pending
      </p>
      <p class="muted">
        created {relative(batch.createdAt, props.now)}
        {batch.finishedAt ? <>, finished {relative(batch.finishedAt, props.now)}</> : null}
        {batch.onComplete ? (
          <>
            {" "}
            · onComplete <code>{batch.onComplete.type}</code>
          </>
        ) : null}
        {batch.onSuccess ? (
          <>
            {" "}
            · onSuccess <code>{batch.onSuccess.type}</code>
          </>
        ) : null}
        {batch.callback ? <> · callback {batch.callback.status}</> : null}
      </p>
      {batch.status === "running" ? (
        <p>
          {batch.open ? <Action session={session} id={batch.id} action="close" label="Close" /> : null}{" "}
          <Action session={session} id={batch.id} action="cancel" label="Cancel unstarted jobs" />
        </p>
      ) : null}
      <h2>Jobs (newest 50)</h2>
      <table>
        <thead>
          <tr>
            <th>Job</th>
            <th>Type</th>
            <th>Status</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {props.jobs.map((j) => (
            <tr>
              <td>
                <a href={`/dashboard/jobs/${j.id}`}>
                  <code>{j.id}</code>
                </a>
              </td>
              <td>{j.type}</td>
              <td>{j.status}</td>
              <td title={j.updatedAt}>{relative(j.updatedAt, props.now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <a href={`/dashboard/jobs?batchId=${batch.id}`}>All jobs of this batch</a> ·{" "}
        <a href="/dashboard/batches">Back</a>
      </p>
    </Page>
  );
}

/** The pages and their two actions, mounted on the dashboard's router (behind its session check). */
export function registerBatchPages(dash: Hono<DashboardEnv>, appFetch: AppFetch): void {
  dash.get("/batches", async (c) => {
    const status = STATUSES.find((s) => s === c.req.query("status"));
    const cursor = c.req.query("cursor");
    const params = new URLSearchParams({ limit: "50" });
    if (status) params.set("status", status);
    if (cursor && BATCH_ID.test(cursor)) params.set("cursor", cursor);
    const reply = await apiFor(c, appFetch)<{ data: Batch[]; nextCursor: string | null }>(
      "GET",
      `/v1/batches?${params}`,
    );
    const flash = takeFlash(c) ?? (reply.ok ? null : { kind: "error" as const, text: reply.error.message });
    return c.html(
      <BatchesPage
        session={c.var.session}
        flash={flash}
        batches={reply.ok ? reply.body.data : []}
        nextCursor={reply.ok ? reply.body.nextCursor : null}
        status={status}
        now={Date.now()}
      />,
    );
  });

  dash.get("/batches/:id", async (c) => {
    const id = c.req.param("id");
    const api = apiFor(c, appFetch);
    const reply = BATCH_ID.test(id) ? await api<Batch>("GET", `/v1/batches/${id}`) : null;
    if (!reply?.ok) {
      return c.html(
        <Page title="Not found" session={c.var.session} section="batches">
          <h1>Batch not found</h1>
          <p>
            No batch <code>{id}</code> for this tenant. <a href="/dashboard/batches">Back to batches</a>
          </p>
        </Page>,
        404,
      );
    }
    const jobs = await api<{ data: Job[] }>("GET", `/v1/jobs?batchId=${id}&limit=50`);
    return c.html(
      <BatchPage
        session={c.var.session}
        flash={takeFlash(c)}
        batch={reply.body}
        jobs={jobs.ok ? jobs.body.data : []}
        now={Date.now()}
      />,
    );
  });

  const action = (verb: "close" | "cancel") =>
    dash.post(`/batches/:id/${verb}`, async (c: Context<DashboardEnv>) => {
      const form = await c.req.parseBody();
      // Same rule as every dashboard action: our own origin and this session's CSRF token, else nothing happens.
      if (!sameOrigin(c) || !validCsrf(c.var.session, form._csrf)) {
        c.var.log.warn("dashboard action refused", { path: c.req.path, reason: "origin or csrf" });
        return c.text("this form is stale or came from another site; reload the page and try again", 403);
      }
      const id = c.req.param("id") ?? "";
      let flash: Flash;
      if (!BATCH_ID.test(id)) flash = { kind: "error", text: "no such batch" };
      else {
        const reply = await apiFor(c, appFetch)("POST", `/v1/batches/${id}/${verb}`);
        flash = reply.ok
          ? { kind: "ok", text: verb === "close" ? "batch closed" : "unstarted jobs cancelled" }
          : { kind: "error", text: reply.error.message };
      }
      c.var.log.info("dashboard action", { path: c.req.path, outcome: flash.kind });
      setFlash(c, flash);
      return c.redirect(BATCH_ID.test(id) ? `/dashboard/batches/${id}` : "/dashboard/batches", 303);
    });
  action("close");
  action("cancel");
}
