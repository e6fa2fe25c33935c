// The dashboard's state-changing actions: each checks origin and CSRF token, calls the public API, and redirects with a notice.
import type { Context, Hono } from "hono";
import { type ApiReply, type AppFetch, apiFor } from "./api-client";
import { type DashboardEnv, endSession, type Flash, sameOrigin, setFlash, validCsrf } from "./session";

const ID = /^[A-Za-z0-9_-]{1,100}$/;
const JOB_ID = /^job_[0-9A-Z]{26}$/;
/** The API's bulk replay takes at most this many ids; so does a page of checkboxes. */
const MAX_IDS = 100;

type Form = Record<string, string | File | (string | File)[]>;

/** Where to go after an action: only a dashboard path of ours (never another site, never `//host`). */
function backTo(form: Form, fallback: string): string {
  const back = form.back;
  return typeof back === "string" && /^\/dashboard(?:[/?][^\s\\]*)?$/.test(back) && !back.startsWith("//")
    ? back
    : fallback;
}

function idsOf(form: Form): string[] | null {
  const raw = form.ids;
  const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
    (v): v is string => typeof v === "string",
  );
  if (ids.length === 0 || ids.length > MAX_IDS || !ids.every((id) => JOB_ID.test(id))) return null;
  return [...new Set(ids)];
}

const failure = (reply: ApiReply<unknown>): Flash => ({
  kind: "error",
  text: reply.ok ? "" : reply.error.message,
});

async function guarded(
  c: Context<DashboardEnv>,
  run: (form: Form) => Promise<{ flash: Flash; to: string }>,
): Promise<Response> {
  const form = (await c.req.parseBody({ all: true })) as Form;
  if (!sameOrigin(c) || !validCsrf(c.var.session, form._csrf)) {
    c.var.log.warn("dashboard action refused", { path: c.req.path, reason: "origin or csrf" });
    return c.text("this form is stale or came from another site; reload the page and try again", 403);
  }
  const { flash, to } = await run(form);
  c.var.log.info("dashboard action", { path: c.req.path, outcome: flash.kind });
  setFlash(c, flash);
  return c.redirect(to, 303);
}

export function registerActions(dash: Hono<DashboardEnv>, appFetch: AppFetch) {
  const param = (c: Context<DashboardEnv>) => {
    const id = c.req.param("id") ?? "";
    return ID.test(id) ? id : null;
  };

  const jobAction = (action: "retry" | "cancel" | "delete") =>
    dash.post(`/jobs/:id/${action}`, (c) =>
      guarded(c, async (form) => {
        const id = param(c);
        if (!id) return { flash: { kind: "error", text: "no such job" }, to: "/dashboard/jobs" };
        const api = apiFor(c, appFetch);
        const reply =
          action === "delete" ? await api("DELETE", `/v1/jobs/${id}`) : await api("POST", `/v1/jobs/${id}/${action}`);
        const done = { retry: "queued again", cancel: "cancelled", delete: "deleted" }[action];
        const fallback = action === "delete" ? "/dashboard/jobs" : `/dashboard/jobs/${id}`;
        return {
          flash: reply.ok ? { kind: "ok", text: `${id} ${done}` } : failure(reply),
          to: backTo(form, fallback),
        };
      }),
    );
  jobAction("retry");
  jobAction("cancel");
  jobAction("delete");

  dash.post("/dead/retry", (c) =>
    guarded(c, async (form) => {
      const ids = idsOf(form);
      const to = backTo(form, "/dashboard/dead");
      if (!ids) return { flash: { kind: "error", text: `select 1 to ${MAX_IDS} dead jobs first` }, to };
      const reply = await apiFor(c, appFetch)<{ retried: number }>("POST", "/v1/dead/retry", { ids });
      return { flash: reply.ok ? { kind: "ok", text: `${reply.body.retried} queued again` } : failure(reply), to };
    }),
  );

  dash.post("/dead/retry-all", (c) =>
    guarded(c, async (form) => {
      const type = typeof form.type === "string" && form.type.length > 0 ? form.type : undefined;
      const reply = await apiFor(c, appFetch)<{ retried: number }>("POST", "/v1/dead/retry", type ? { type } : {});
      const to = `/dashboard/dead${type ? `?type=${encodeURIComponent(type)}` : ""}`;
      return { flash: reply.ok ? { kind: "ok", text: `${reply.body.retried} queued again` } : failure(reply), to };
    }),
  );

  dash.post("/dead/discard", (c) =>
    guarded(c, async (form) => {
      const ids = idsOf(form);
      const to = backTo(form, "/dashboard/dead");
      if (!ids) return { flash: { kind: "error", text: `select 1 to ${MAX_IDS} dead jobs first` }, to };
      const api = apiFor(c, appFetch);
      const replies = await Promise.all(ids.map((id) => api("DELETE", `/v1/jobs/${id}`)));
      const deleted = replies.filter((r) => r.ok).length;
      const flash: Flash =
        deleted === ids.length
          ? { kind: "ok", text: `${deleted} discarded` }
          : { kind: "error", text: `${deleted} of ${ids.length} discarded; the others were no longer dead` };
      return { flash, to };
    }),
  );

  const scheduleAction = (action: "pause" | "resume" | "run") =>
    dash.post(`/schedules/:id/${action}`, (c) =>
      guarded(c, async () => {
        const id = param(c);
        const to = "/dashboard/schedules";
        if (!id) return { flash: { kind: "error", text: "no such schedule" }, to };
        const api = apiFor(c, appFetch);
        const reply =
          action === "run"
            ? await api("POST", `/v1/schedules/${id}/run`)
            : await api("PATCH", `/v1/schedules/${id}`, { enabled: action === "resume" });
        const done = { pause: "paused", resume: "resumed", run: "enqueued a run" }[action];
        return { flash: reply.ok ? { kind: "ok", text: `schedule ${done}` } : failure(reply), to };
      }),
    );
  scheduleAction("pause");
  scheduleAction("resume");
  scheduleAction("run");

  dash.post("/logout", (c) =>
    guarded(c, async () => {
      await endSession(c);
      return { flash: { kind: "ok", text: "signed out" }, to: "/dashboard/login" };
    }),
  );
}
