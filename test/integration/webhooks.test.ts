// Webhooks inside workerd: the secret routes, the enqueue-time target guard, http job validation, callback state.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { createRegistry } from "../../src/core/define-job";
import { consumeJobs } from "../../src/engine/consumer";
import { meterD1 } from "../../src/metering/d1";
import { ADMIN_TOKEN, call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { REFUSED_TARGETS } from "../fixtures/refused-targets";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

type Secret = {
  secret: string;
  previousSecret: string | null;
  rotatedAt: string | null;
  httpJobSecret: string;
  previousHttpJobSecret: string | null;
};
type ErrorBody = { error: { code: string; message: string; issues?: { path: string; message: string }[] } };

/** The same Worker with ALLOW_PRIVATE_TARGETS off, as in production (vitest.config turns it on). */
async function strictCall<T>(method: string, path: string, key: string, body?: unknown) {
  const res = await worker.fetch(
    new Request(`http://edge-jobs.test${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, ALLOW_PRIVATE_TARGETS: "false" },
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as T };
}

/** A loopback port nothing listens on: a real connection that is refused. */
const CLOSED_PORT_URL = "http://127.0.0.1:1/hook";

describe("GET and rotate /v1/webhook-secret", () => {
  it("creates a whsec_ secret on first use and answers the same one after", async () => {
    const { key } = await newTenant("whs");
    const first = await call<Secret>("GET", "/v1/webhook-secret", { token: key });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      previousSecret: null,
      rotatedAt: null,
      httpJobSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      previousHttpJobSecret: null,
    });
    const again = await call<Secret>("GET", "/v1/webhook-secret", { token: key });
    expect(again.body).toEqual(first.body);
  });

  it("rotates: the old secret becomes previousSecret, and a second rotation moves it along", async () => {
    const { key } = await newTenant("whs");
    const original = (await call<Secret>("GET", "/v1/webhook-secret", { token: key })).body;
    const rotated = await call<Secret>("POST", "/v1/webhook-secret/rotate", { token: key });
    expect(rotated.status).toBe(200);
    expect(rotated.body.previousSecret).toBe(original.secret);
    expect(rotated.body.secret).not.toBe(original.secret);
    expect(Date.parse(rotated.body.rotatedAt ?? "")).toBeGreaterThan(Date.now() - 60_000);
    expect((await call<Secret>("GET", "/v1/webhook-secret", { token: key })).body).toEqual(rotated.body);
    const twice = await call<Secret>("POST", "/v1/webhook-secret/rotate", { token: key });
    expect(twice.body.previousSecret).toBe(rotated.body.secret);
  });

  it("keeps tenants apart and refuses the admin token and missing keys", async () => {
    const a = await newTenant("whs");
    const b = await newTenant("whs");
    const secretA = (await call<Secret>("GET", "/v1/webhook-secret", { token: a.key })).body.secret;
    const secretB = (await call<Secret>("GET", "/v1/webhook-secret", { token: b.key })).body.secret;
    expect(secretA).not.toBe(secretB);
    const admin = await call<ErrorBody>("POST", "/v1/webhook-secret/rotate", { token: ADMIN_TOKEN });
    expect([admin.status, admin.body.error.code]).toEqual([403, "forbidden"]);
    expect((await call("GET", "/v1/webhook-secret")).status).toBe(401);
  });
});

describe("the OpenAPI document", () => {
  it("describes the secret routes and the Job's callback field", async () => {
    const doc = await call<{ paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }>(
      "GET",
      "/openapi.json",
    );
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(["/v1/webhook-secret", "/v1/webhook-secret/rotate"]),
    );
    expect(doc.body.components.schemas).toHaveProperty("WebhookSecret");
    expect(doc.body.components.schemas).toHaveProperty("CallbackState");
    expect(JSON.stringify(doc.body.components.schemas.Job)).toContain('"callback"');
  });
});

describe("the target guard at enqueue (ALLOW_PRIVATE_TARGETS off)", () => {
  it.each(REFUSED_TARGETS)("refuses %s as an http job's url and as a callbackUrl, writing nothing", async (url) => {
    const { key } = await newTenant("guard");
    const asJob = await strictCall<ErrorBody>("POST", "/v1/jobs", key, { type: "http", payload: { url } });
    expect(asJob.status).toBe(400);
    expect(asJob.body.error.code).toBe("invalid_request");
    expect(asJob.body.error.issues?.map((i) => i.path)).toEqual(["payload.url"]);

    const asCallback = await strictCall<ErrorBody>("POST", "/v1/jobs", key, { type: "test-echo", callbackUrl: url });
    expect(asCallback.status).toBe(400);
    expect(asCallback.body.error.issues?.map((i) => i.path)).toEqual(["callbackUrl"]);

    const list = await call<{ data: Job[] }>("GET", "/v1/jobs", { token: key });
    expect(list.body.data).toEqual([]);
  });

  it("refuses a whole batch when one item targets a private address", async () => {
    const { key } = await newTenant("guard");
    const res = await strictCall<ErrorBody>("POST", "/v1/jobs/batch", key, {
      jobs: [
        { type: "http", payload: { url: "https://example.com/ok" } },
        { type: "http", payload: { url: "http://[::ffff:169.254.169.254]/latest" } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: "jobs.1.payload.url", message: expect.stringMatching(/metadata/) }]);
    expect((await call<{ data: Job[] }>("GET", "/v1/jobs", { token: key })).body.data).toEqual([]);
  });

  it("wants https for callbacks and accepts public targets", async () => {
    const { key } = await newTenant("guard");
    const plain = await strictCall<ErrorBody>("POST", "/v1/jobs", key, {
      type: "test-echo",
      callbackUrl: "http://example.com/hook",
    });
    expect(plain.body.error.issues).toEqual([{ path: "callbackUrl", message: "must be an https URL" }]);
    const ok = await strictCall<Job>("POST", "/v1/jobs", key, {
      type: "http",
      payload: { url: "http://example.com/ok" },
      callbackUrl: "https://example.com/hook",
      delaySeconds: 3600,
    });
    expect(ok.status).toBe(202);
    await call("POST", `/v1/jobs/${ok.body.id}/cancel`, { token: key });
  });
});

describe("the http job's payload", () => {
  it.each([
    [{ url: "https://example.com", method: "GET", body: "x" }, "payload.body"],
    [{ url: "https://example.com", headers: { "x-bad": "a\r\nb" } }, "payload.headers.x-bad"],
    [{ url: "https://example.com", headers: { "bad header": "a" } }, "payload.headers.bad header"],
    [{ url: "https://example.com", timeoutSeconds: 0 }, "payload.timeoutSeconds"],
    [{ url: "https://example.com", method: "TRACE" }, "payload.method"],
    [{ url: "nope" }, "payload.url"],
    [{ url: "https://example.com", extra: 1 }, "payload"],
  ])("refuses %j at %s", async (payload, path) => {
    const { key } = await newTenant("httpv");
    const res = await call<ErrorBody>("POST", "/v1/jobs", { token: key, body: { type: "http", payload } });
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.map((i) => i.path)).toContain(path);
  });

  it("is flow-keyed by destination host when no flow is given, and keeps an explicit flow", async () => {
    const { key } = await newTenant("httpv");
    const derived = await enqueue(key, {
      type: "http",
      payload: { url: "https://api.example.com:8443/x" },
      delaySeconds: 3600,
    });
    expect(derived.flow).toEqual({ key: "http:api.example.com:8443", concurrency: 10 });
    expect(derived.callback).toBeNull();
    const explicit = await enqueue(key, {
      type: "http",
      payload: { url: "https://api.example.com/x" },
      flow: { key: "mine", concurrency: 2 },
      delaySeconds: 3600,
    });
    expect(explicit.flow).toEqual({ key: "mine", concurrency: 2 });
  });
});

describe("http job and callback against a closed port (a real refused connection)", () => {
  it("retries a network error, then goes dead when attempts run out", async () => {
    const { key } = await newTenant("httpnet");
    const job = await enqueue(key, {
      type: "http",
      payload: { url: CLOSED_PORT_URL, timeoutSeconds: 5 },
      maxAttempts: 2,
      backoff: { type: "fixed", delaySeconds: 0 },
    });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("dead");
    expect(done.attempts).toBe(2);
    expect(done.attemptLog[0]?.error?.message).toMatch(/^request failed/);
  });

  it("records a failed callback attempt on the job and schedules the next one", async () => {
    const { key } = await newTenant("cbnet");
    const job = await enqueue(key, { type: "test-echo", payload: { value: 1 }, callbackUrl: CLOSED_PORT_URL });
    await waitForStatus(key, job.id, ["succeeded"]);
    const deadline = Date.now() + 15_000;
    let seen = (await call<Job>("GET", `/v1/jobs/${job.id}`, { token: key })).body;
    while (Date.now() < deadline && (seen.callback?.attempts ?? 0) < 1) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await call<Job>("GET", `/v1/jobs/${job.id}`, { token: key })).body;
    }
    expect(seen.callback).toMatchObject({
      status: "pending",
      event: "job.succeeded",
      webhookId: expect.stringMatching(/^msg_/),
      attempts: 1,
      lastStatus: null,
      lastError: expect.stringMatching(/^request failed/),
      deliveredAt: null,
    });
    expect(Date.parse(seen.callback?.nextAttemptAt ?? "")).toBeGreaterThan(
      Date.parse(seen.callback?.lastAttemptAt ?? ""),
    );
  });
});

/** Polls the job until its callback has been attempted `attempts` times. */
async function callbackAttempted(key: string, id: string, attempts = 1): Promise<Job> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const job = (await call<Job>("GET", `/v1/jobs/${id}`, { token: key })).body;
    if ((job.callback?.attempts ?? 0) >= attempts || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("callbacks from the dead-letter queue", () => {
  const dlqBatch = (bodies: unknown[]) =>
    createMessageBatch<unknown>(
      "jobs-dlq",
      bodies.map((body, i) => ({ id: `dlq-${i}`, timestamp: Date.now(), attempts: 101, body })),
    );

  it("a job the queue gave up on still sends its job.dead callback", async () => {
    const { key, tenant } = await newTenant("cbdlq");
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600, callbackUrl: CLOSED_PORT_URL });
    // Its attempts are used up: the DLQ consumer re-queues a job that has some left, and marks this one dead.
    await env.DB.prepare("UPDATE jobs SET attempts = max_attempts WHERE tenant_id = ? AND id = ?")
      .bind(tenant, job.id)
      .run();
    const batch = dlqBatch([{ tenant, id: job.id }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    const seen = await callbackAttempted(key, job.id);
    expect(seen.status).toBe("dead");
    expect(seen.callback).toMatchObject({ event: "job.dead", status: "pending", attempts: 1 });
  });

  it("a dead-lettered callback message never touches its job", async () => {
    const { key, tenant } = await newTenant("cbdlq");
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600 });
    const batch = dlqBatch([{ kind: "callback", tenant, id: job.id }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    const after = (await call<Job>("GET", `/v1/jobs/${job.id}`, { token: key })).body;
    expect(after).toMatchObject({ status: "queued", callback: null });
    await call("POST", `/v1/jobs/${job.id}/cancel`, { token: key });
  });
});

describe("D1 rows written by callbacks", () => {
  it("costs one row with the outcome and one per delivery attempt", async () => {
    const JOBS = 5;
    const registry = createRegistry([...defaultJobs, ...testJobs]);
    const sent: unknown[] = [];
    const queue = {
      async sendBatch(messages: Iterable<{ body: unknown }>) {
        for (const m of messages) sent.push(m.body);
      },
    } as unknown as Queue;
    const batchOf = (bodies: unknown[]) =>
      createMessageBatch<unknown>(
        "jobs",
        bodies.map((body, i) => ({ id: `m-${i}`, timestamp: Date.now(), attempts: 1, body })),
      );
    /** Runs JOBS delayed test-echo jobs of a fresh tenant through the consumer on a metered D1. */
    async function consumeRows(callbackUrl?: string) {
      const { key, tenant } = await newTenant("cbrows");
      await call("GET", "/v1/webhook-secret", { token: key });
      const jobs = await Promise.all(
        Array.from({ length: JOBS }, () => enqueue(key, { type: "test-echo", delaySeconds: 3600, callbackUrl })),
      );
      const { d1, usage } = meterD1(env.DB);
      const batch = batchOf(jobs.map((j) => ({ tenant, id: j.id })));
      await consumeJobs(batch, { ...env, DB: d1, JOBS_QUEUE: queue }, registry);
      expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toHaveLength(JOBS);
      return usage.rowsWritten;
    }

    const plain = await consumeRows();
    expect(sent).toEqual([]);
    const withCallbacks = await consumeRows(CLOSED_PORT_URL);
    expect(withCallbacks - plain).toBe(JOBS);
    expect(sent).toHaveLength(JOBS);
    expect(sent.every((body) => (body as { kind?: string }).kind === "callback")).toBe(true);

    const delivery = meterD1(env.DB);
    const batch = batchOf(sent);
    await consumeJobs(batch, { ...env, DB: delivery.d1, JOBS_QUEUE: queue }, registry);
    expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toHaveLength(JOBS);
    expect(delivery.usage.rowsWritten).toBe(JOBS);
    console.info(
      JSON.stringify({
        jobs: JOBS,
        plainRows: plain,
        withCallbackRows: withCallbacks,
        perAttemptRows: delivery.usage.rowsWritten / JOBS,
      }),
    );
  });
});
