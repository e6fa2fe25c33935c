import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newTenant } from "../fixtures/api";
import { dashboardCookie, dashboardPage } from "../fixtures/dashboard-session";

const origin = "http://edge-jobs.test";

const page = (cookie: string) => dashboardPage(cookie, "/dashboard/job-types");

const post = (cookie: string, path: string, form: Record<string, string>, from = origin) =>
  exports.default.fetch(
    new Request(`${origin}${path}`, {
      method: "POST",
      headers: { origin: from, cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
      redirect: "manual",
    }),
  );

/** The session cookie plus the one-time notice an action set, as a browser would send them to the next page. */
const withFlash = (cookie: string, res: Response) => {
  const flash = (res.headers.get("set-cookie") ?? "")
    .split(/,(?=\s*[\w-]+=)/)
    .map((c) => c.trim().split(";")[0] ?? "")
    .find((c) => !c.startsWith(cookie.split("=")[0] ?? "") && c.includes("="));
  return flash ? `${cookie}; ${flash}` : cookie;
};

const pausedTypes = async (tenant: string) =>
  (
    await env.DB.prepare("SELECT type FROM paused_types WHERE tenant_id = ?1").bind(tenant).all<{ type: string }>()
  ).results.map((r) => r.type);

describe("dashboard: job types page", () => {
  it("lists the types with their state, and Pause / Resume act through the API for the signed-in tenant", async () => {
    const { key, tenant } = await newTenant("dash-types");
    const cookie = await dashboardCookie(key);
    const first = await page(cookie);
    expect(first.status).toBe(200);
    expect(first.html).toContain("<code>test-echo</code>");
    expect(first.html).toContain('action="/dashboard/job-types/test-echo/pause"');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(first.html)?.[1] ?? "";
    expect(csrf).not.toBe("");

    const paused = await post(cookie, "/dashboard/job-types/test-echo/pause", { _csrf: csrf });
    expect(paused.status).toBe(303);
    expect(paused.headers.get("location")).toBe("/dashboard/job-types");
    expect(await pausedTypes(tenant)).toEqual(["test-echo"]);
    const after = await page(withFlash(cookie, paused));
    expect(after.html).toContain("test-echo paused");
    expect(after.html).toContain('action="/dashboard/job-types/test-echo/resume"');
    const api = await call<{ data: { type: string; paused: boolean }[] }>("GET", "/v1/job-types", { token: key });
    expect(api.body.data.find((t) => t.type === "test-echo")?.paused).toBe(true);

    expect((await post(cookie, "/dashboard/job-types/test-echo/resume", { _csrf: csrf })).status).toBe(303);
    expect(await pausedTypes(tenant)).toEqual([]);
  });

  it("refuses a stale token, another site's form and no session, writing nothing; an unknown type is a notice", async () => {
    const { key, tenant } = await newTenant("dash-refuse");
    const cookie = await dashboardCookie(key);
    const csrf = /name="_csrf" value="([^"]+)"/.exec((await page(cookie)).html)?.[1] ?? "";
    expect((await post(cookie, "/dashboard/job-types/test-echo/pause", { _csrf: "stale" })).status).toBe(403);
    expect(
      (await post(cookie, "/dashboard/job-types/test-echo/pause", { _csrf: csrf }, "https://evil.test")).status,
    ).toBe(403);
    const anonymous = await post("", "/dashboard/job-types/test-echo/pause", { _csrf: csrf });
    expect(anonymous.status).toBeGreaterThanOrEqual(300);
    expect(anonymous.status).toBeLessThan(500);
    expect(await pausedTypes(tenant)).toEqual([]);

    const unknown = await post(cookie, "/dashboard/job-types/no-such-type/pause", { _csrf: csrf });
    expect(unknown.status).toBe(303);
    expect((await page(withFlash(cookie, unknown))).html).toContain("unknown job type");
    expect(await pausedTypes(tenant)).toEqual([]);
  });
});
