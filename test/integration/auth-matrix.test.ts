import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, enqueue, newTenant, waitForStatus } from "../fixtures/api";

type OpenApi = { paths: Record<string, Record<string, unknown>> };
type Route = { method: string; path: string };

/** Routes anyone may call: health, the API description and the dashboard's own sign-in. */
const PUBLIC = /^\/(healthz|openapi\.json|docs|dashboard)/;
const ADMIN = /^\/v1\/keys/;

async function routes(): Promise<Route[]> {
  const doc = await call<OpenApi>("GET", "/openapi.json");
  return Object.entries(doc.body.paths)
    .filter(([path]) => !PUBLIC.test(path))
    .flatMap(([path, item]) => Object.keys(item).map((method) => ({ method: method.toUpperCase(), path })));
}

/** Tenant A's resources, each carrying a marker that must never show up in another tenant's answers. */
async function tenantWithData() {
  const a = await newTenant("owner");
  const marker = `secret-${crypto.randomUUID()}`;
  const job = await enqueue(a.key, { type: "test-echo", payload: { value: marker }, metadata: { marker } });
  await waitForStatus(a.key, job.id, ["succeeded"]);
  const dead = await enqueue(a.key, { type: "test-poison", payload: {}, metadata: { marker } });
  await waitForStatus(a.key, dead.id, ["dead"]);
  // The flow key exists once a job naming it was consumed: the owner sees it, so the other tenant's 404 means something.
  const flowed = await enqueue(a.key, {
    type: "test-echo",
    flow: { key: marker, rate: { limit: 777, periodSeconds: 7 } },
  });
  await waitForStatus(a.key, flowed.id, ["succeeded"]);
  const flow = await call<{ key: string; rate: unknown }>("GET", `/v1/flows/${marker}`, { token: a.key });
  expect(flow.status).toBe(200);
  expect(flow.body).toMatchObject({ key: marker, rate: { limit: 777, periodSeconds: 7 } });
  const schedule = await call<{ id: string }>("POST", "/v1/schedules", {
    token: a.key,
    body: { name: marker, cron: "0 3 * * *", type: "test-echo", payload: { value: marker } },
  });
  expect(schedule.status).toBe(201);
  return { ...a, marker, jobId: job.id, deadId: dead.id, flowedId: flowed.id, scheduleId: schedule.body.id };
}

function fill(path: string, ids: { jobId: string; scheduleId: string; keyId: string; marker: string }): string {
  return path
    .replace(
      "{id}",
      path.startsWith("/v1/schedules") ? ids.scheduleId : path.startsWith("/v1/keys") ? ids.keyId : ids.jobId,
    )
    .replace("{key}", ids.marker);
}

describe("auth matrix over every route in the OpenAPI document", () => {
  it("answers 401 / 403 / 404 as the contract says, and never shows another tenant's data", async () => {
    const owner = await tenantWithData();
    const other = await newTenant("other");
    const revoked = await newTenant("revoked");
    expect((await call("DELETE", `/v1/keys/${revoked.keyId}`, { token: ADMIN_TOKEN })).status).toBe(204);
    const all = await routes();
    expect(all.length).toBeGreaterThanOrEqual(20);

    let checked = 0;
    for (const { method, path } of all) {
      const url = fill(path, { ...owner, keyId: owner.keyId });
      const where = `${method} ${path}`;
      // A body that validates where one is needed, so the answer is about who asks, not what was sent.
      const body = method === "GET" || method === "DELETE" ? undefined : method === "PATCH" ? { enabled: false } : {};
      for (const headers of [
        {},
        { authorization: "Bearer" },
        { authorization: "Token abc" },
        { authorization: `Bearer ${"x".repeat(600)}` },
        { authorization: `Bearer ${revoked.key}` },
      ] as Record<string, string>[]) {
        const res = await call<{ error?: { code: string } }>(method, url, { headers, body });
        expect(res.status, where).toBe(401);
        expect(res.body.error?.code, where).toBe("unauthorized");
        checked++;
      }

      if (ADMIN.test(path)) {
        const res = await call<{ error?: { code: string } }>(method, url, { token: other.key, body });
        expect(res.status, where).toBe(403);
        checked++;
        continue;
      }

      // Another tenant's key: a path naming the owner's resource is 404; any answer is free of the owner's data.
      const res = await call(method, url, { token: other.key, body });
      expect(res.status, where).toBeLessThan(500);
      if (path.includes("{")) expect(res.status, where).toBe(404);
      const text = JSON.stringify(res.body);
      for (const secret of [owner.marker, owner.jobId, owner.deadId, owner.flowedId, owner.scheduleId, owner.tenant]) {
        expect(text.includes(secret), `${where} leaked ${secret}`).toBe(false);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(all.length * 6 - 1);

    // The owner still sees its own data through the same routes.
    const mine = await call<{ data: { id: string }[] }>("GET", "/v1/dead", { token: owner.key });
    expect(mine.body.data.map((j) => j.id)).toEqual([owner.deadId]);
  });
});
