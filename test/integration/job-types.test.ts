import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobTypeEntry } from "../../src/contract/job-types";
import { ADMIN_TOKEN, call, newTenant } from "../fixtures/api";

type ErrorBody = { error: { code: string; message: string; issues?: { path: string }[] } };

const pausedRows = async (tenant: string) =>
  (
    await env.DB.prepare("SELECT type, paused_at AS pausedAt FROM paused_types WHERE tenant_id = ?1 ORDER BY type")
      .bind(tenant)
      .all<{ type: string; pausedAt: number }>()
  ).results;

describe("GET /v1/job-types", () => {
  it("lists every registered type with its defaults, queue, paused state and a JSON Schema of its payload rules", async () => {
    const { key } = await newTenant("types");
    const res = await call<{ data: JobTypeEntry[] }>("GET", "/v1/job-types", { token: key });
    expect(res.status).toBe(200);
    const byType = new Map(res.body.data.map((t) => [t.type, t]));
    // The test Worker registers the shipped types, the test-only ones and the chaos type.
    for (const type of ["http", "send-order-confirmation", "sync-order-side-effects", "cleanup-expired-sessions"]) {
      expect(byType.has(type), type).toBe(true);
    }
    for (const type of ["test-flaky", "test-echo", "test-poison", "test-sleep", "test-timed", "test-count"]) {
      expect(byType.has(type), type).toBe(true);
    }
    expect(res.body.data.map((t) => t.type)).toEqual([...res.body.data.map((t) => t.type)].sort());
    for (const entry of res.body.data) {
      // Each type's lane: test-urgent names `critical` in its definition, every other type runs in `default`.
      expect(entry.queue, entry.type).toBe(entry.type === "test-urgent" ? "critical" : "default");
      expect(entry.paused).toBe(false);
      expect(entry.inputSchema, entry.type).not.toBeNull();
    }
    // The type's own settings, else the defaults (5 attempts, 60 s).
    expect(byType.get("test-flaky")).toMatchObject({ maxAttempts: 3, timeoutSeconds: 60 });
    expect(byType.get("test-sleep")).toMatchObject({ maxAttempts: 2, timeoutSeconds: 1 });
    expect(byType.get("test-echo")).toMatchObject({ maxAttempts: 5, timeoutSeconds: 60 });
    // The schema says what enqueue validates: an integer ≥ 0, required.
    expect(byType.get("test-flaky")?.inputSchema).toMatchObject({
      type: "object",
      properties: { failTimes: { type: "integer", minimum: 0 } },
      required: ["failTimes"],
    });
    expect(byType.get("send-order-confirmation")?.inputSchema).toMatchObject({
      type: "object",
      properties: { orderId: { type: "string" } },
      required: ["orderId"],
    });
    // …and the rules hold: the payload the schema calls invalid is refused by enqueue, the valid one accepted.
    const refused = await call<ErrorBody>("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-flaky", payload: { failTimes: -1 }, delaySeconds: 3600 },
    });
    expect(refused.status).toBe(400);
    const accepted = await call("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-flaky", payload: { failTimes: 0 }, delaySeconds: 3600 },
    });
    expect(accepted.status).toBe(202);
  });

  it("shows a type as paused only to the tenant that paused it", async () => {
    const a = await newTenant("types-a");
    const b = await newTenant("types-b");
    const paused = await call<JobTypeEntry>("POST", "/v1/job-types/test-echo/pause", { token: a.key });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ type: "test-echo", queue: "default", paused: true, maxAttempts: 5 });
    const listA = await call<{ data: JobTypeEntry[] }>("GET", "/v1/job-types", { token: a.key });
    const listB = await call<{ data: JobTypeEntry[] }>("GET", "/v1/job-types", { token: b.key });
    expect(listA.body.data.filter((t) => t.paused).map((t) => t.type)).toEqual(["test-echo"]);
    expect(listB.body.data.filter((t) => t.paused)).toEqual([]);
    const resumed = await call<JobTypeEntry>("POST", "/v1/job-types/test-echo/resume", { token: a.key });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ type: "test-echo", paused: false });
    expect(Object.keys(resumed.body).sort()).toEqual(
      ["inputSchema", "maxAttempts", "paused", "queue", "timeoutSeconds", "type"].sort(),
    );
    expect(await pausedRows(a.tenant)).toEqual([]);
  });
});

describe("POST /v1/job-types/:type/pause and /resume", () => {
  it("is idempotent: a second pause keeps the first one's row and time, a second resume changes nothing", async () => {
    const { key, tenant } = await newTenant("idem");
    expect((await call("POST", "/v1/job-types/test-echo/pause", { token: key })).status).toBe(200);
    const first = await pausedRows(tenant);
    expect(first.map((r) => r.type)).toEqual(["test-echo"]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await call<JobTypeEntry>("POST", "/v1/job-types/test-echo/pause", { token: key });
    expect(again.status).toBe(200);
    expect(again.body.paused).toBe(true);
    expect(await pausedRows(tenant)).toEqual(first);
    expect((await call("POST", "/v1/job-types/test-echo/resume", { token: key })).status).toBe(200);
    const twice = await call<JobTypeEntry>("POST", "/v1/job-types/test-echo/resume", { token: key });
    expect(twice.status).toBe(200);
    expect(twice.body.paused).toBe(false);
    expect(await pausedRows(tenant)).toEqual([]);
  });

  it("refuses an unknown type with 404 naming the registered types, an overlong one with 400, and writes nothing", async () => {
    const { key, tenant } = await newTenant("refuse");
    for (const action of ["pause", "resume"]) {
      const unknown = await call<ErrorBody>("POST", `/v1/job-types/no-such-type/${action}`, { token: key });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe("not_found");
      expect(unknown.body.error.message).toContain('"no-such-type"');
      expect(unknown.body.error.message).toContain("test-echo");
      expect(unknown.body.error.message).toContain("send-order-confirmation");

      const odd = await call<ErrorBody>("POST", `/v1/job-types/${encodeURIComponent("Not A Type!")}/${action}`, {
        token: key,
      });
      expect(odd.status).toBe(404);

      const long = await call<ErrorBody>("POST", `/v1/job-types/${"x".repeat(101)}/${action}`, { token: key });
      expect(long.status).toBe(400);
      expect(long.body.error.code).toBe("invalid_request");
      expect(long.body.error.issues?.[0]?.path).toBe("param.type");

      // No such route: the type segment missing, or a verb that is not pause/resume.
      expect((await call<ErrorBody>("POST", `/v1/job-types//${action}`, { token: key })).status).toBe(404);
      expect((await call<ErrorBody>("GET", `/v1/job-types/test-echo/${action}`, { token: key })).status).toBe(404);
    }
    expect((await call<ErrorBody>("POST", "/v1/job-types/test-echo/stop", { token: key })).status).toBe(404);
    expect(await pausedRows(tenant)).toEqual([]);
  });

  it("needs a tenant key: none or an unknown one is 401, the admin token 403, and neither writes", async () => {
    const { tenant } = await newTenant("auth");
    const before = await env.DB.prepare("SELECT count(*) AS n FROM paused_types").first<{ n: number }>();
    for (const [method, path] of [
      ["GET", "/v1/job-types"],
      ["POST", "/v1/job-types/test-echo/pause"],
      ["POST", "/v1/job-types/test-echo/resume"],
    ] as const) {
      const none = await call<ErrorBody>(method, path);
      expect(none.status, path).toBe(401);
      expect(none.body.error.code).toBe("unauthorized");
      expect((await call<ErrorBody>(method, path, { token: "ej_not-a-key" })).status, path).toBe(401);
      const admin = await call<ErrorBody>(method, path, { token: ADMIN_TOKEN });
      expect(admin.status, path).toBe(403);
      expect(admin.body.error.code).toBe("forbidden");
    }
    const after = await env.DB.prepare("SELECT count(*) AS n FROM paused_types").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
    expect(await pausedRows(tenant)).toEqual([]);
  });

  it("documents the three routes in the OpenAPI document", async () => {
    const doc = await call<{ paths: Record<string, Record<string, unknown>> }>("GET", "/openapi.json");
    expect(Object.keys(doc.body.paths["/v1/job-types"] ?? {})).toEqual(["get"]);
    expect(Object.keys(doc.body.paths["/v1/job-types/{type}/pause"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.body.paths["/v1/job-types/{type}/resume"] ?? {})).toEqual(["post"]);
  });
});
