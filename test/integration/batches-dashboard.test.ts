// The dashboard's batches pages, mounted: the list shows each batch's progress; Cancel acts through the API, behind CSRF.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Batch } from "../../src/contract/batches";
import { call, newTenant } from "../fixtures/api";
import { dashboardCookie, dashboardPage } from "../fixtures/dashboard-session";

const origin = "http://edge-jobs.test";

const get = dashboardPage;

const post = (cookie: string, path: string, form: Record<string, string>) =>
  exports.default.fetch(
    new Request(`${origin}${path}`, {
      method: "POST",
      headers: { origin, cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
      redirect: "manual",
    }),
  );

describe("dashboard: batches", () => {
  it("lists the tenant's batches with their progress, shows one with its jobs, and Cancel (with CSRF) cancels its unstarted jobs", async () => {
    const { key, tenant } = await newTenant("dash-bat");
    const created = await call<Batch>("POST", "/v1/batches", {
      token: key,
      body: {
        jobs: [
          { type: "test-echo", delaySeconds: 3600 },
          { type: "test-echo", delaySeconds: 3600 },
        ],
        description: "dash",
      },
    });
    expect(created.status).toBe(202);
    const id = created.body.id;
    await env.DB.prepare(
      "UPDATE jobs SET status = 'succeeded' WHERE tenant_id = ? AND id = (SELECT min(id) FROM jobs WHERE tenant_id = ? AND batch_id = ?)",
    )
      .bind(tenant, tenant, id)
      .run();
    await call("POST", `/v1/batches/${id}/close`, { token: key });
    const cookie = await dashboardCookie(key);

    const list = await get(cookie, "/dashboard/batches");
    expect(list.status).toBe(200);
    expect(list.html).toContain(`href="/dashboard/batches/${id}"`);
    expect(list.html).toContain("dash");
    expect(list.html).toMatch(/<span data-counts="?[^>]*>1\/2<\/span>/);

    const detail = await get(cookie, `/dashboard/batches/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.html).toContain(`action="/dashboard/batches/${id}/cancel"`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(detail.html)?.[1] ?? "";
    expect(csrf).not.toBe("");

    // Without the session's CSRF token nothing happens.
    expect((await post(cookie, `/dashboard/batches/${id}/cancel`, { _csrf: "forged" })).status).toBe(403);
    expect((await call<Batch>("GET", `/v1/batches/${id}`, { token: key })).body.status).toBe("running");

    const cancelled = await post(cookie, `/dashboard/batches/${id}/cancel`, { _csrf: csrf });
    expect(cancelled.status).toBe(303);
    expect((await call<Batch>("GET", `/v1/batches/${id}`, { token: key })).body).toMatchObject({
      status: "completed",
      succeeded: 1,
      cancelled: 1,
    });
    // Another tenant's batch is not found here.
    const other = await dashboardCookie((await newTenant("dash-bat-other")).key);
    expect((await get(other, `/dashboard/batches/${id}`)).status).toBe(404);
  });
});
