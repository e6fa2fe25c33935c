import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newTenant, waitForStatus } from "../fixtures/api";
import { seedJobs } from "../fixtures/seed";

const DEAD = 250;

async function seedDead(tenant: string) {
  const dead = await seedJobs(
    Array.from({ length: DEAD }, () => ({ tenantId: tenant, status: "dead", attempts: 3, finishedAt: Date.now() })),
  );
  return dead.map((row) => row.id);
}

/** Signs in to the dashboard with a tenant key and answers what a browser would send with its forms. */
async function dashboardSession(key: string) {
  const origin = "http://edge-jobs.test";
  const login = await exports.default.fetch(
    new Request(`${origin}/dashboard/login`, {
      method: "POST",
      headers: { origin, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key }),
      redirect: "manual",
    }),
  );
  expect(login.status).toBe(303);
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const page = await exports.default.fetch(new Request(`${origin}/dashboard/dead`, { headers: { cookie } }));
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  expect(csrf).toBeTruthy();
  return { origin, cookie, csrf: csrf ?? "" };
}

describe("dead-letter replay at incident size (D1's 100 bound parameters)", () => {
  it("POST /v1/dead/retry {} requeues 250 dead jobs and they run", async () => {
    const { tenant, key } = await newTenant("replay");
    const ids = await seedDead(tenant);
    const replay = await call<{ retried: number }>("POST", "/v1/dead/retry", { token: key, body: {} });
    expect(replay.status).toBe(200);
    expect(replay.body.retried).toBe(DEAD);
    for (const id of [ids[0], ids[124], ids[249]]) await waitForStatus(key, id ?? "", ["succeeded"], 30_000);
    const dead = await call<{ data: unknown[] }>("GET", "/v1/dead?limit=100", { token: key });
    expect(dead.body.data).toHaveLength(0);
  });

  it("POST /v1/dead/retry with 100 ids (the most a call takes) requeues them all", async () => {
    const { tenant, key } = await newTenant("replay-ids");
    const ids = await seedDead(tenant);
    const replay = await call<{ retried: number }>("POST", "/v1/dead/retry", {
      token: key,
      body: { ids: ids.slice(0, 100) },
    });
    expect(replay.status).toBe(200);
    expect(replay.body.retried).toBe(100);
  });

  it("the dashboard's retry-all requeues 250 dead jobs", async () => {
    const { tenant, key } = await newTenant("replay-dash");
    const ids = await seedDead(tenant);
    const { origin, cookie, csrf } = await dashboardSession(key);
    const res = await exports.default.fetch(
      new Request(`${origin}/dashboard/dead/retry-all`, {
        method: "POST",
        headers: { origin, cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf, type: "" }),
        redirect: "manual",
      }),
    );
    expect(res.status).toBe(303);
    await waitForStatus(key, ids[200] ?? "", ["succeeded"], 30_000);
    const dead = await call<{ data: unknown[] }>("GET", "/v1/dead?limit=100", { token: key });
    expect(dead.body.data).toHaveLength(0);
  });
});
