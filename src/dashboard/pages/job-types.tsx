// Job types: every registered type with its settings and paused state, and Pause / Resume through the public API.
import type { Context, Hono } from "hono";
import type { JobTypeEntry } from "../../contract/job-types";
import { type AppFetch, apiFor } from "../api-client";
import { CsrfField, Page } from "../layout";
import { type DashboardEnv, type Flash, type Session, sameOrigin, setFlash, takeFlash, validCsrf } from "../session";

/** A name a type could have (the API answers 404 for one that is not registered). */
const TYPE = /^[a-z0-9][a-z0-9._-]{0,99}$/;

export function JobTypesPage(props: { session: Session; flash: Flash | null; types: JobTypeEntry[] }) {
  const { session } = props;
  return (
    <Page title="Job types" session={session} section="job-types" flash={props.flash}>
      <h1>Job types</h1>
      <p class="muted">
        A paused type still accepts jobs: they wait, queued, without spending an attempt, until it is resumed.
      </p>
      {props.types.length === 0 ? (
        <p class="muted">No job types are registered.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Type</th>
              <th>Queue</th>
              <th>Max attempts</th>
              <th>Timeout</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.types.map((t) => (
              <tr>
                <td>
                  <a href={`/dashboard/jobs?type=${encodeURIComponent(t.type)}`}>
                    <code>{t.type}</code>
                  </a>
                </td>
                <td>{t.queue}</td>
                <td>{t.maxAttempts}</td>
                <td>{t.timeoutSeconds} s</td>
                <td>{t.paused ? <strong>paused</strong> : "active"}</td>
                <td>
                  <form
                    method="post"
                    action={`/dashboard/job-types/${encodeURIComponent(t.type)}/${t.paused ? "resume" : "pause"}`}
                  >
                    <CsrfField session={session} />
                    {t.paused ? (
                      <button type="submit" class="small primary">
                        Resume
                      </button>
                    ) : (
                      <button
                        type="submit"
                        class="small"
                        data-confirm={`Pause ${t.type}? Its jobs will wait until you resume it.`}
                      >
                        Pause
                      </button>
                    )}
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

/** The page and its two actions, mounted on the dashboard's router (behind its session check). */
export function registerJobTypePages(dash: Hono<DashboardEnv>, appFetch: AppFetch): void {
  dash.get("/job-types", async (c) => {
    const reply = await apiFor(c, appFetch)<{ data: JobTypeEntry[] }>("GET", "/v1/job-types");
    const flash = takeFlash(c) ?? (reply.ok ? null : { kind: "error" as const, text: reply.error.message });
    return c.html(<JobTypesPage session={c.var.session} flash={flash} types={reply.ok ? reply.body.data : []} />);
  });

  const action = (verb: "pause" | "resume") =>
    dash.post(`/job-types/:type/${verb}`, async (c: Context<DashboardEnv>) => {
      const form = await c.req.parseBody();
      // Same rule as every dashboard action: our own origin and this session's CSRF token, else nothing happens.
      if (!sameOrigin(c) || !validCsrf(c.var.session, form._csrf)) {
        c.var.log.warn("dashboard action refused", { path: c.req.path, reason: "origin or csrf" });
        return c.text("this form is stale or came from another site; reload the page and try again", 403);
      }
      const type = c.req.param("type") ?? "";
      let flash: Flash;
      if (!TYPE.test(type)) flash = { kind: "error", text: "no such job type" };
      else {
        const reply = await apiFor(c, appFetch)("POST", `/v1/job-types/${type}/${verb}`);
        flash = reply.ok
          ? { kind: "ok", text: `${type} ${verb === "pause" ? "paused" : "resumed"}` }
          : { kind: "error", text: reply.error.message };
      }
      c.var.log.info("dashboard action", { path: c.req.path, outcome: flash.kind });
      setFlash(c, flash);
      return c.redirect("/dashboard/job-types", 303);
    });
  action("pause");
  action("resume");
}
