import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, enqueue, newTenant, waitForStatus } from "../fixtures/api";

type ErrorBody = { error: { code: string; message: string; issues?: { path: string; message: string }[] } };

async function countRows(): Promise<{ jobs: number; keys: number }> {
  const jobs = await env.DB.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>();
  const keys = await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>();
  return { jobs: jobs?.n ?? -1, keys: keys?.n ?? -1 };
}

describe("manual actions follow the state rules", () => {
  it("cancels a waiting job once, retries it, and deletes only finished jobs", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    expect(job.status).toBe("queued");

    const deleteQueued = await call<ErrorBody>("DELETE", `/v1/jobs/${job.id}`, { token: key });
    expect(deleteQueued.status).toBe(409);
    expect(deleteQueued.body.error.code).toBe("conflict");

    const cancelled = await call<{ status: string }>("POST", `/v1/jobs/${job.id}/cancel`, { token: key });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("cancelled");
    const again = await call<ErrorBody>("POST", `/v1/jobs/${job.id}/cancel`, { token: key });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe("cannot cancel a job that is cancelled");

    const retried = await call<{ status: string }>("POST", `/v1/jobs/${job.id}/retry`, { token: key });
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe("queued");
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.status).toBe("succeeded");

    expect((await call("POST", `/v1/jobs/${job.id}/cancel`, { token: key })).status).toBe(409);
    expect((await call("POST", `/v1/jobs/${job.id}/retry`, { token: key })).status).toBe(409);
    expect((await call("DELETE", `/v1/jobs/${job.id}`, { token: key })).status).toBe(204);
    expect((await call("GET", `/v1/jobs/${job.id}`, { token: key })).status).toBe(404);
    expect((await call("DELETE", `/v1/jobs/${job.id}`, { token: key })).status).toBe(404);
  });

  it("keeps a job delayed past the queue's 12 h limit as scheduled, and cancels it", async () => {
    const { key } = await newTenant();
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 13 * 3600 });
    expect(job.status).toBe("scheduled");
    expect(Date.parse(job.runAt) - Date.parse(job.createdAt)).toBe(13 * 3600 * 1000);
    const cancelled = await call<{ status: string }>("POST", `/v1/jobs/${job.id}/cancel`, { token: key });
    expect(cancelled.body.status).toBe("cancelled");
  });

  it("pages through jobs newest first with a cursor and filters by status and type", async () => {
    const { key } = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await enqueue(key, { type: "test-echo", delaySeconds: 3600 })).id);
    await enqueue(key, { type: "test-flaky", payload: { failTimes: 0 }, delaySeconds: 3600 });
    const first = await call<{ data: { id: string }[]; nextCursor: string | null }>(
      "GET",
      "/v1/jobs?type=test-echo&limit=3",
      { token: key },
    );
    expect(first.body.data.map((j) => j.id)).toEqual([ids[4], ids[3], ids[2]]);
    const second = await call<{ data: { id: string }[]; nextCursor: string | null }>(
      "GET",
      `/v1/jobs?type=test-echo&limit=3&cursor=${first.body.nextCursor}`,
      { token: key },
    );
    expect(second.body.data.map((j) => j.id)).toEqual([ids[1], ids[0]]);
    expect(second.body.nextCursor).toBeNull();
    const queued = await call<{ data: unknown[] }>("GET", "/v1/jobs?status=queued", { token: key });
    expect(queued.body.data).toHaveLength(6);
    const none = await call<{ data: unknown[] }>("GET", "/v1/jobs?status=dead", { token: key });
    expect(none.body.data).toHaveLength(0);
  });
});

describe("batch enqueue is all or nothing", () => {
  it("rejects the whole batch when one item is invalid, writing nothing", async () => {
    const { key } = await newTenant();
    const before = await countRows();
    const res = await call<ErrorBody>("POST", "/v1/jobs/batch", {
      token: key,
      body: {
        jobs: [
          { type: "test-echo", payload: { value: 1 } },
          { type: "send-order-confirmation", payload: { orderId: "o-1" } },
          { type: "send-order-confirmation", payload: { orderId: 42 } },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: "jobs.2.payload.orderId", message: expect.any(String) }]);
    const unknownType = await call<ErrorBody>("POST", "/v1/jobs/batch", {
      token: key,
      body: { jobs: [{ type: "test-echo" }, { type: "nope" }] },
    });
    expect(unknownType.status).toBe(422);
    expect(await countRows()).toEqual(before);
  });

  it("accepts a valid batch of 100 and runs every job", async () => {
    const { key } = await newTenant();
    const jobs = Array.from({ length: 100 }, (_, i) => ({ type: "test-echo", payload: { value: i } }));
    const res = await call<{ jobs: { id: string; status: string }[] }>("POST", "/v1/jobs/batch", {
      token: key,
      body: { jobs },
    });
    expect(res.status).toBe(202);
    expect(res.body.jobs).toHaveLength(100);
    const tooMany = await call<ErrorBody>("POST", "/v1/jobs/batch", {
      token: key,
      body: { jobs: [...jobs, { type: "test-echo" }] },
    });
    expect(tooMany.status).toBe(400);
    const last = res.body.jobs[99];
    expect(last).toBeDefined();
    await waitForStatus(key, last?.id ?? "", ["succeeded"]);
    const deadline = Date.now() + 20_000;
    let succeeded = 0;
    while (Date.now() < deadline && succeeded < 100) {
      const page = await call<{ data: unknown[] }>("GET", "/v1/jobs?status=succeeded&limit=100", { token: key });
      succeeded = page.body.data.length;
      if (succeeded < 100) await new Promise((r) => setTimeout(r, 200));
    }
    expect(succeeded).toBe(100);
  });
});

describe("every route validates its input and its caller", () => {
  const tenantRoutes: [string, string, unknown?][] = [
    ["POST", "/v1/jobs", { type: "test-echo" }],
    ["POST", "/v1/jobs/batch", { jobs: [{ type: "test-echo" }] }],
    ["GET", "/v1/jobs"],
    ["GET", "/v1/jobs/job_01M8FKYR0H4Y0BFSWRX1N0EJM3"],
    ["POST", "/v1/jobs/job_01M8FKYR0H4Y0BFSWRX1N0EJM3/cancel"],
    ["POST", "/v1/jobs/job_01M8FKYR0H4Y0BFSWRX1N0EJM3/retry"],
    ["DELETE", "/v1/jobs/job_01M8FKYR0H4Y0BFSWRX1N0EJM3"],
    ["GET", "/v1/dead"],
    ["POST", "/v1/dead/retry", {}],
  ];
  const adminRoutes: [string, string, unknown?][] = [
    ["POST", "/v1/keys", { tenant: "x", name: "y" }],
    ["GET", "/v1/keys"],
    ["DELETE", "/v1/keys/key_01M8FKYR0H4Y0BFSWRX1N0EJM3"],
  ];

  it("answers 401 without a key, with a malformed one and with an unknown one, writing nothing", async () => {
    const before = await countRows();
    for (const [method, path, body] of [...tenantRoutes, ...adminRoutes]) {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: "Basic abc" },
        { authorization: "Bearer ej_unknown" },
      ];
      for (const headers of attempts) {
        const res = await call<ErrorBody>(method, path, { body, headers });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body.error.code).toBe("unauthorized");
      }
    }
    expect(await countRows()).toEqual(before);
  });

  it("answers 403 for the admin token on tenant routes and for tenant keys on admin routes", async () => {
    const { key } = await newTenant();
    for (const [method, path, body] of tenantRoutes) {
      const res = await call<ErrorBody>(method, path, { token: ADMIN_TOKEN, body });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    for (const [method, path, body] of adminRoutes) {
      const res = await call<ErrorBody>(method, path, { token: key, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
    }
  });

  it("answers 400 with issues for invalid input on every route that takes input", async () => {
    const { key } = await newTenant();
    const before = await countRows();
    const cases: [string, string, { body?: unknown; raw?: string; token?: string }][] = [
      ["POST", "/v1/jobs", { body: { payload: {} } }],
      ["POST", "/v1/jobs", { body: { type: "test-echo", delaySeconds: -1 } }],
      ["POST", "/v1/jobs", { body: { type: "test-echo", delaySeconds: 10, runAt: "2030-01-01T00:00:00Z" } }],
      ["POST", "/v1/jobs", { body: { type: "test-echo", maxAttempts: 101 } }],
      ["POST", "/v1/jobs", { body: { type: "test-echo", idempotencyKey: "k".repeat(201) } }],
      ["POST", "/v1/jobs", { body: { type: "test-echo", callbackUrl: "ftp://example.com" } }],
      ["POST", "/v1/jobs", { body: { type: "test-echo", metadata: { orderId: 7 } } }],
      ["POST", "/v1/jobs", { body: { type: "test-echo", unknownField: true } }],
      ["POST", "/v1/jobs", { raw: "{not json" }],
      ["POST", "/v1/jobs", { body: [1, 2] }],
      ["POST", "/v1/jobs/batch", { body: { jobs: [] } }],
      ["POST", "/v1/jobs/batch", { raw: "" }],
      ["GET", "/v1/jobs?limit=0", {}],
      ["GET", "/v1/jobs?limit=abc", {}],
      ["GET", "/v1/jobs?status=sleeping", {}],
      ["GET", "/v1/jobs?cursor=zzz", {}],
      ["GET", "/v1/dead?limit=101", {}],
      ["POST", "/v1/dead/retry", { body: { ids: "job_1" } }],
      ["POST", "/v1/keys", { body: { tenant: "Not Valid", name: "x" }, token: ADMIN_TOKEN }],
      ["POST", "/v1/keys", { body: { tenant: "ok" }, token: ADMIN_TOKEN }],
    ];
    for (const [method, path, opts] of cases) {
      const res = await call<ErrorBody>(method, path, {
        token: opts.token ?? key,
        body: opts.body,
        rawBody: opts.raw,
        headers: opts.raw === undefined ? {} : { "content-type": "application/json" },
      });
      expect(res.status, `${method} ${path} ${JSON.stringify(opts)}`).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(typeof res.body.error.message).toBe("string");
    }
    expect(await countRows()).toEqual(before);
  });

  it("answers 413 for a payload over the limit and 422 for an unknown type, writing nothing", async () => {
    const { key } = await newTenant();
    const before = await countRows();
    const big = await call<ErrorBody>("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-echo", payload: { value: "x".repeat(262_144) } },
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("payload_too_large");
    const unknown = await call<ErrorBody>("POST", "/v1/jobs", { token: key, body: { type: "nope" } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe("unknown_job_type");
    // The message names the types this deployment does register, so a typo is easy to see.
    expect(unknown.body.error.message).toMatch(/^unknown job type "nope"; registered types: .*\bhttp\b/);
    expect(unknown.body.error.message).toContain("test-echo");
    expect(await countRows()).toEqual(before);
    const justUnder = await call("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-echo", payload: { value: "x".repeat(262_144 - 20) } },
    });
    expect(justUnder.status).toBe(202);
  });

  it("accepts an idempotency key of 200 characters and refuses one of 201", async () => {
    const { key } = await newTenant();
    const ok = await call("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-echo", idempotencyKey: "k".repeat(200), delaySeconds: 3600 },
    });
    expect(ok.status).toBe(202);
    const tooLong = await call<ErrorBody>("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-echo", idempotencyKey: "k".repeat(201), delaySeconds: 3600 },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.issues?.[0]?.path).toBe("idempotencyKey");
    const headerTooLong = await call<ErrorBody>("POST", "/v1/jobs", {
      token: key,
      headers: { "idempotency-key": "h".repeat(201) },
      body: { type: "test-echo", delaySeconds: 3600 },
    });
    expect(headerTooLong.status).toBe(400);
  });

  it("answers 415 naming application/json for a JSON body sent with another Content-Type or none, writing nothing", async () => {
    const { key } = await newTenant();
    const schedule = await call<{ id: string }>("POST", "/v1/schedules", {
      token: key,
      body: { name: "media", cron: "0 3 * * *", type: "test-echo" },
    });
    expect(schedule.status).toBe(201);
    const before = await countRows();
    const routes: [string, string, string][] = [
      ["POST", "/v1/jobs", JSON.stringify({ type: "test-echo" })],
      ["POST", "/v1/jobs/batch", JSON.stringify({ jobs: [{ type: "test-echo" }] })],
      ["POST", "/v1/dead/retry", "{}"],
      ["POST", "/v1/schedules", JSON.stringify({ name: "m2", cron: "0 3 * * *", type: "test-echo" })],
      ["PATCH", `/v1/schedules/${schedule.body.id}`, JSON.stringify({ enabled: false })],
    ];
    for (const [method, path, rawBody] of routes) {
      const mediaTypes: Record<string, string>[] = [
        {},
        { "content-type": "text/plain" },
        { "content-type": "application/x-www-form-urlencoded" },
      ];
      for (const headers of mediaTypes) {
        const res = await call<ErrorBody>(method, path, { token: key, rawBody, headers });
        const where = `${method} ${path} ${JSON.stringify(headers)}`;
        expect(res.status, where).toBe(415);
        expect(res.body.error.code, where).toBe("unsupported_media_type");
        expect(res.body.error.message, where).toContain("application/json");
      }
    }
    const admin = await call<ErrorBody>("POST", "/v1/keys", {
      token: ADMIN_TOKEN,
      rawBody: JSON.stringify({ tenant: "media", name: "x" }),
      headers: { "content-type": "text/plain" },
    });
    expect(admin.status).toBe(415);
    expect(await countRows()).toEqual(before);
    // A route whose body is optional still takes none at all.
    expect((await call("POST", "/v1/dead/retry", { token: key })).status).toBe(200);
    // JSON with a charset parameter is JSON.
    const withCharset = await call("POST", "/v1/jobs", {
      token: key,
      rawBody: JSON.stringify({ type: "test-echo", delaySeconds: 3600 }),
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    expect(withCharset.status).toBe(202);
  });

  it("/docs keeps the space before /v1/* in its sentence on auth", async () => {
    const docs = await call<string>("GET", "/docs");
    expect(docs.status).toBe(200);
    expect(docs.body).toContain("Every <code>/v1/*</code> route takes");
  });

  it("answers unknown routes with the contract's 404 shape", async () => {
    const res = await call<ErrorBody>("GET", "/v2/nothing");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});

describe("tenants are isolated", () => {
  it("answers 404 for another tenant's job on every job route and never lists it", async () => {
    const a = await newTenant("a");
    const b = await newTenant("b");
    const job = await enqueue(a.key, { type: "test-echo", delaySeconds: 3600 });
    for (const [method, path] of [
      ["GET", `/v1/jobs/${job.id}`],
      ["POST", `/v1/jobs/${job.id}/cancel`],
      ["POST", `/v1/jobs/${job.id}/retry`],
      ["DELETE", `/v1/jobs/${job.id}`],
    ] as const) {
      const res = await call<ErrorBody>(method, path, { token: b.key });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    const list = await call<{ data: unknown[] }>("GET", "/v1/jobs", { token: b.key });
    expect(list.body.data).toEqual([]);
    const replay = await call<{ retried: number }>("POST", "/v1/dead/retry", { token: b.key, body: { ids: [job.id] } });
    expect(replay.body.retried).toBe(0);
    expect((await call<{ status: string }>("GET", `/v1/jobs/${job.id}`, { token: a.key })).body.status).toBe("queued");
  });

  it("stops accepting a key once it is revoked", async () => {
    const { key, keyId } = await newTenant();
    expect((await call("GET", "/v1/jobs", { token: key })).status).toBe(200);
    const listed = await call<{ data: { id: string }[] }>("GET", "/v1/keys", { token: ADMIN_TOKEN });
    expect(listed.body.data.map((k) => k.id)).toContain(keyId);
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect((await call("DELETE", `/v1/keys/${keyId}`, { token: ADMIN_TOKEN })).status).toBe(204);
    expect((await call("GET", "/v1/jobs", { token: key })).status).toBe(401);
  });
});
