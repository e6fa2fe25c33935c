// /dashboard: the server-rendered web dashboard (Hono JSX), a client of the public API signed in with a tenant key.

import type { OpenAPIHono } from "@hono/zod-openapi";
import { type Context, Hono } from "hono";
import { JOB_STATUSES, type Job } from "../contract/job";
import { jobQueueOf } from "../core/config";
import type { AppEnv } from "../http/app-env";
import { throughputSeries } from "../metrics/snapshot";
import { collectMetrics } from "../service/read-metrics";
import { registerActions } from "./actions";
import { apiFor } from "./api-client";
import { CONTENT_SECURITY_POLICY, SCRIPT, STYLES } from "./assets";
import { query } from "./format";
import { Page } from "./layout";
import { registerBatchPages } from "./pages/batches";
import { DeadPage } from "./pages/dead";
import { type JobDetail, JobPage } from "./pages/job";
import { registerJobTypePages } from "./pages/job-types";
import { JobsPage } from "./pages/jobs";
import { LoginPage } from "./pages/login";
import { OverviewPage } from "./pages/overview";
import { SchedulesPage, type ScheduleView } from "./pages/schedules";
import {
  type DashboardEnv,
  readSession,
  requireSession,
  sameOrigin,
  startSession,
  takeFlash,
  tenantKey,
} from "./session";

const PAGE_SIZE = 25;
const CHART_MINUTES = 60;
const CURSOR = /^job_[0-9A-Z]{26}$/;
const BATCH_ID = /^bat_[0-9A-Z]{26}$/;

type JobList = { data: Job[]; nextCursor: string | null };

/** Filters from the query string, keeping only well-formed values (the API validates again). */
function filterOf(c: Context<DashboardEnv>) {
  const status = c.req.query("status");
  const type = c.req.query("type");
  const cursor = c.req.query("cursor");
  const batchId = c.req.query("batchId");
  return {
    status: status && (JOB_STATUSES as readonly string[]).includes(status) ? status : undefined,
    type: type && type.length <= 100 ? type : undefined,
    batchId: batchId && BATCH_ID.test(batchId) ? batchId : undefined,
    cursor: cursor && CURSOR.test(cursor) ? cursor : undefined,
  };
}

export function registerDashboard(app: OpenAPIHono<AppEnv>) {
  const dash = new Hono<DashboardEnv>();
  const appFetch = app.fetch;

  dash.use("*", async (c, next) => {
    await next();
    c.header("content-security-policy", CONTENT_SECURITY_POLICY);
    c.header("x-frame-options", "DENY");
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  });

  dash.get("/assets/app.css", (c) =>
    c.body(STYLES, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=300" }),
  );
  dash.get("/assets/app.js", (c) =>
    c.body(SCRIPT, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=300",
    }),
  );

  dash.get("/login", async (c) => {
    if (await readSession(c)) return c.redirect("/dashboard", 303);
    const flash = takeFlash(c);
    return c.html(<LoginPage notice={flash?.text} />);
  });

  dash.post("/login", async (c) => {
    if (!sameOrigin(c)) return c.text("sign in from the dashboard's own page", 403);
    const form = await c.req.parseBody();
    const key = typeof form.key === "string" ? form.key.trim() : "";
    const owner = await tenantKey(c, key);
    if (!owner) {
      c.var.log.warn("dashboard sign-in refused");
      return c.html(<LoginPage error="That is not a tenant API key." />, 401);
    }
    await startSession(c, owner);
    c.var.log.info("dashboard sign-in", { tenant: owner.tenant, keyId: owner.keyId });
    return c.redirect("/dashboard", 303);
  });

  dash.use("*", requireSession);

  dash.get("/", async (c) => {
    const now = Date.now();
    const { snapshot, minutes } = await collectMetrics(
      c.var.db,
      c.env.DB,
      jobQueueOf(c.env),
      c.var.session.tenant,
      now,
      CHART_MINUTES,
    );
    return c.html(
      <OverviewPage
        session={c.var.session}
        flash={takeFlash(c)}
        snapshot={snapshot}
        series={throughputSeries(minutes, now, CHART_MINUTES)}
      />,
    );
  });

  const listPage = async (c: Context<DashboardEnv>, path: "/v1/jobs" | "/v1/dead") => {
    const filter = filterOf(c);
    const reply = await apiFor(c, appFetch)<JobList>(
      "GET",
      `${path}${query({
        ...filter,
        status: path === "/v1/dead" ? undefined : filter.status,
        batchId: path === "/v1/dead" ? undefined : filter.batchId,
        limit: String(PAGE_SIZE),
      })}`,
    );
    const flash = takeFlash(c) ?? (reply.ok ? null : { kind: "error" as const, text: reply.error.message });
    const props = {
      session: c.var.session,
      flash,
      jobs: reply.ok ? reply.body.data : [],
      nextCursor: reply.ok ? reply.body.nextCursor : null,
      filter,
      types: [...c.var.registry.keys()].sort(),
      now: Date.now(),
    };
    return c.html(path === "/v1/dead" ? <DeadPage {...props} /> : <JobsPage {...props} />);
  };
  dash.get("/jobs", (c) => listPage(c, "/v1/jobs"));
  dash.get("/dead", (c) => listPage(c, "/v1/dead"));

  dash.get("/jobs/:id", async (c) => {
    const id = c.req.param("id");
    const reply = /^[A-Za-z0-9_-]{1,100}$/.test(id)
      ? await apiFor(c, appFetch)<JobDetail>("GET", `/v1/jobs/${id}`)
      : null;
    if (!reply?.ok) {
      return c.html(
        <Page title="Not found" session={c.var.session} section="jobs">
          <h1>Job not found</h1>
          <p>
            No job <code>{id}</code> for this tenant. <a href="/dashboard/jobs">Back to jobs</a>
          </p>
        </Page>,
        404,
      );
    }
    return c.html(<JobPage session={c.var.session} flash={takeFlash(c)} job={reply.body} now={Date.now()} />);
  });

  dash.get("/schedules", async (c) => {
    const cursor = c.req.query("cursor");
    const safeCursor = cursor && /^[A-Za-z0-9_-]{1,100}$/.test(cursor) ? cursor : undefined;
    const reply = await apiFor(c, appFetch)<{ data: ScheduleView[]; nextCursor: string | null }>(
      "GET",
      `/v1/schedules${query({ limit: "50", cursor: safeCursor })}`,
    );
    // A deployment without the schedules API answers the app's own 404 for the route.
    const missing = !reply.ok && reply.status === 404;
    const flash = takeFlash(c) ?? (reply.ok || missing ? null : { kind: "error" as const, text: reply.error.message });
    return c.html(
      <SchedulesPage
        session={c.var.session}
        flash={flash}
        schedules={reply.ok ? reply.body.data : missing ? null : []}
        nextCursor={reply.ok ? reply.body.nextCursor : null}
        cursor={safeCursor}
        now={Date.now()}
      />,
    );
  });

  registerActions(dash, appFetch);
  registerJobTypePages(dash, appFetch);
  registerBatchPages(dash, appFetch);

  app.route("/dashboard", dash);
  app.get("/dashboard/", (c) => c.redirect("/dashboard", 301));
}
