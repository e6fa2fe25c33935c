import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createJobsClient, JobsApiError } from "../../src/client";
import { newId } from "../../src/core/ids";
import { openDb } from "../../src/db/client";
import { insertJob } from "../../src/db/jobs";
import { meterD1 } from "../../src/metering/d1";
import { call, newTenant, waitForStatus } from "../fixtures/api";
import worker, { JobsRpc } from "../fixtures/worker";

/** The entrypoint as a caller's service binding sees it, with the tenant in the binding's props. */
const rpcFor = (tenant: string) => exports.JobsRpc({ props: { tenant } });

type Refusal = { code: string; message: string; issues: { path: string; message: string }[] };
type Answer = { ok: true } | { ok: false; error: Refusal };

/** An accepted call's answer; fails the test with the refusal otherwise. */
function ok<A extends Answer>(answer: A): Extract<A, { ok: true }> {
  if (!answer.ok) throw new Error(`the call was refused: ${JSON.stringify(answer.error)}`);
  return answer as Extract<A, { ok: true }>;
}

/** A refused call's error, as the caller receives it over RPC. */
function refused(answer: Answer): Refusal {
  if (answer.ok) throw new Error("the call was expected to be refused");
  return answer.error;
}

async function jobCount(key: string): Promise<number> {
  const res = await call<{ data: unknown[] }>("GET", "/v1/jobs?limit=100", { token: key });
  return res.body.data.length;
}

describe("JobsRpc: the job API over a service binding", () => {
  it("enqueues for the binding's tenant; the job runs and reads the same over HTTP", async () => {
    const { tenant, key } = await newTenant("rpc");
    const { job } = ok(
      await rpcFor(tenant).enqueue({ type: "test-echo", payload: { value: "via rpc" }, metadata: { orderId: "o-9" } }),
    );
    expect(job).toMatchObject({ type: "test-echo", status: "queued", attempts: 0, metadata: { orderId: "o-9" } });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.result).toEqual({ echoed: "via rpc" });
    const viaRpc = ok(await rpcFor(tenant).get(job.id)).job;
    const { attemptLog, ...viaHttp } = done;
    expect(viaRpc).toEqual({ ...viaHttp, attemptLog });
  });

  it("refuses bad input with the HTTP contract's codes and issues, writing nothing", async () => {
    const { tenant, key } = await newTenant("rpc");
    const rpc = rpcFor(tenant);
    const unknownType = refused(await rpc.enqueue({ type: "no-such-type" }));
    expect(unknownType.code).toBe("unknown_job_type");
    const badPayload = refused(await rpc.enqueue({ type: "send-order-confirmation", payload: { orderId: 5 } }));
    expect(badPayload.code).toBe("invalid_request");
    expect(badPayload.issues.map((i) => i.path)).toEqual(["payload.orderId"]);
    const badOptions = refused(await rpc.enqueue({ type: "test-echo", maxAttempts: 0 }));
    expect(badOptions.code).toBe("invalid_request");
    expect(badOptions.issues.map((i) => i.path)).toEqual(["maxAttempts"]);
    // One bad item refuses the whole batch.
    const batch = refused(await rpc.enqueueBatch([{ type: "test-echo" }, { type: "test-flaky", payload: {} }]));
    expect(batch.code).toBe("invalid_request");
    expect(batch.issues[0]?.path).toBe("jobs.1.payload.failTimes");
    const tooLarge = refused(await rpc.enqueue({ type: "test-echo", payload: { value: "x".repeat(300_000) } }));
    expect(tooLarge.code).toBe("payload_too_large");
    expect(await jobCount(key)).toBe(0);
  });

  it("answers the original job for a repeated idempotency key and refuses a reuse with another payload", async () => {
    const { tenant } = await newTenant("rpc");
    const rpc = rpcFor(tenant);
    const first = ok(await rpc.enqueue({ type: "test-echo", payload: { value: 1 }, idempotencyKey: "order-1" })).job;
    const again = ok(await rpc.enqueue({ type: "test-echo", payload: { value: 1 }, idempotencyKey: "order-1" })).job;
    expect(again.id).toBe(first.id);
    const conflict = refused(
      await rpc.enqueue({ type: "test-echo", payload: { value: 2 }, idempotencyKey: "order-1" }),
    );
    expect(conflict.code).toBe("idempotency_conflict");
    expect(ok(await rpc.list()).page.data.map((j) => j.id)).toEqual([first.id]);
  });

  it("keeps tenants apart: another tenant's job is not_found, a binding without a tenant is forbidden", async () => {
    const a = await newTenant("rpc");
    const b = await newTenant("rpc");
    const { job } = ok(await rpcFor(a.tenant).enqueue({ type: "test-echo" }));
    expect(refused(await rpcFor(b.tenant).get(job.id)).code).toBe("not_found");
    expect(refused(await rpcFor(b.tenant).cancel(job.id)).code).toBe("not_found");
    expect(ok(await rpcFor(b.tenant).list()).page.data).toEqual([]);
    const anonymous = exports.JobsRpc({ props: {} as { tenant: string } });
    expect(refused(await anonymous.enqueue({ type: "test-echo" })).code).toBe("forbidden");
    const malformed = rpcFor("Not A Tenant!");
    expect(refused(await malformed.list()).code).toBe("forbidden");
  });

  it("enqueues a batch, pages through it, cancels, and retries a cancelled job to succeeded", async () => {
    const { tenant, key } = await newTenant("rpc");
    const rpc = rpcFor(tenant);
    const { jobs } = ok(
      await rpc.enqueueBatch(
        Array.from({ length: 5 }, (_, i) => ({ type: "test-echo", payload: { value: i }, delaySeconds: 3600 })),
      ),
    );
    expect(jobs.map((j) => j.status)).toEqual(Array(5).fill("queued"));

    const first = ok(await rpc.list({ limit: 2 })).page;
    expect(first.data).toHaveLength(2);
    const second = ok(await rpc.list({ limit: 2, cursor: first.nextCursor ?? undefined })).page;
    const third = ok(await rpc.list({ limit: 2, cursor: second.nextCursor ?? undefined })).page;
    expect(third.nextCursor).toBeNull();
    const paged = [...first.data, ...second.data, ...third.data].map((j) => j.id);
    // Newest first is id order; ids minted in the same millisecond are not in batch order.
    expect(paged).toEqual(
      jobs
        .map((j) => j.id)
        .sort()
        .reverse(),
    );

    const target = jobs[0]?.id ?? "";
    expect(ok(await rpc.cancel(target)).job.status).toBe("cancelled");
    expect(refused(await rpc.cancel(target)).code).toBe("conflict");
    const retried = ok(await rpc.retry(target)).job;
    expect(retried).toMatchObject({ status: "queued", attempts: 0 });
    const done = await waitForStatus(key, target, ["succeeded", "dead"]);
    expect(done.result).toEqual({ echoed: 0 });
    expect(refused(await rpc.retry(target)).code).toBe("conflict");
    expect(refused(await rpc.list({ limit: 500 })).code).toBe("invalid_request");
  });
});

describe("JobsRpc's debounce", () => {
  it("answers debounced: true with the window's job, as HTTP answers 200 with Debounced: true", async () => {
    const { tenant, key } = await newTenant("rpc-debounce");
    const rpc = rpcFor(tenant);
    const debounce = { key: "cart-1", seconds: 600 };
    const first = ok(await rpc.enqueue({ type: "test-echo", payload: { value: 1 }, debounce }));
    expect("debounced" in first).toBe(false);
    const second = ok(await rpc.enqueue({ type: "test-echo", payload: { value: 2 }, debounce }));
    expect(second).toMatchObject({ debounced: true, job: { id: first.job.id, payload: { value: 2 } } });
    const viaHttp = await call<{ id: string; payload: unknown }>("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-echo", payload: { value: 3 }, debounce },
    });
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.headers.get("debounced")).toBe("true");
    expect(viaHttp.body).toMatchObject({ id: first.job.id, payload: { value: 3 } });
    const bad = refused(await rpc.enqueue({ type: "test-echo", debounce, delaySeconds: 5 }));
    expect(bad.issues.map((i) => i.path)).toEqual(["debounce"]);
    expect(await jobCount(key)).toBe(1);
  });
});

describe("JobsRpc's events", () => {
  it("sends an event that completes the tenant's matching wait and wakes its job; get shows the step", async () => {
    const { tenant, key } = await newTenant("rpc-events");
    const other = await newTenant("rpc-events-other");
    const now = Date.now();
    const id = newId("job", now);
    const until = new Date(now + 3_600_000).toISOString();
    // A job parked on an event wait, as the engine leaves one (the handler itself never reads its steps).
    await insertJob(openDb(env.DB), {
      tenantId: tenant,
      id,
      type: "test-echo",
      status: "waiting",
      payload: '{"value":"woken"}',
      attempts: 0,
      maxAttempts: 5,
      options: JSON.stringify({ backoff: { type: "fixed", delaySeconds: 0 }, timeoutSeconds: 60 }),
      runAt: now + 3_600_000,
      createdAt: now,
      updatedAt: now,
      metadata: "{}",
      waitingFor: JSON.stringify({ kind: "event", event: "order.paid", key: "o-1", until }),
    }).run();
    await env.DB.prepare(
      `INSERT INTO job_steps (tenant_id, job_id, name, kind, status, started_at, wake_at, event_name, event_key)
       VALUES (?1, ?2, 'paid', 'event', 'waiting', ?3, ?4, 'order.paid', 'o-1')`,
    )
      .bind(tenant, id, now, now + 3_600_000)
      .run();
    const parked = ok(await rpcFor(tenant).get(id)).job;
    expect(parked).toMatchObject({ status: "waiting", waitingFor: { kind: "event", event: "order.paid", key: "o-1" } });
    expect(parked.steps.map((s) => [s.name, s.kind, s.status])).toEqual([["paid", "event", "waiting"]]);

    // Another tenant's event of the same name and key, a bad event: nothing matched, nothing woken.
    expect(ok(await rpcFor(other.tenant).sendEvent({ name: "order.paid", key: "o-1" })).event).toMatchObject({
      matched: 0,
    });
    const bad = refused(await rpcFor(tenant).sendEvent({ name: "" }));
    expect(bad.code).toBe("invalid_request");
    expect(bad.issues.map((i) => i.path)).toEqual(["name"]);
    expect(ok(await rpcFor(tenant).get(id)).job.status).toBe("waiting");

    const sent = ok(await rpcFor(tenant).sendEvent({ name: "order.paid", key: "o-1", data: { amountCents: 700 } }));
    expect(sent.event).toMatchObject({ id: expect.stringMatching(/^evt_/), matched: 1, more: false });
    const done = await waitForStatus(key, id, ["succeeded", "dead"]);
    expect(done).toMatchObject({ status: "succeeded", result: { echoed: "woken" }, waitingFor: null });
    const viaRpc = ok(await rpcFor(tenant).get(id)).job;
    expect(viaRpc.steps).toEqual([
      expect.objectContaining({ name: "paid", kind: "event", status: "succeeded", result: { amountCents: 700 } }),
    ]);
    // The RPC twin answers what HTTP answers, steps included.
    expect(viaRpc).toEqual(done);
  });
});

describe("JobsRpc's job types and batches", () => {
  it("lists, pauses and resumes job types like the HTTP routes", async () => {
    const { tenant, key } = await newTenant("rpc-types");
    const rpc = rpcFor(tenant);
    const types = ok(await rpc.jobTypes()).types;
    const viaHttp = await call<{ data: { type: string }[] }>("GET", "/v1/job-types", { token: key });
    // The test Worker's HTTP registry has one type more (the chaos fixture); each type RPC lists reads the same.
    const httpByType = new Map(viaHttp.body.data.map((t) => [t.type, t]));
    expect(types.length).toBeGreaterThan(3);
    for (const entry of types) expect(entry).toEqual(httpByType.get(entry.type));
    expect(types.find((t) => t.type === "test-echo")).toMatchObject({ paused: false, queue: "default" });
    expect(ok(await rpc.pauseJobType("test-echo")).type).toMatchObject({ type: "test-echo", paused: true });
    expect(ok(await rpc.jobTypes()).types.find((t) => t.type === "test-echo")?.paused).toBe(true);
    expect(ok(await rpc.resumeJobType("test-echo")).type).toMatchObject({ type: "test-echo", paused: false });
    expect(refused(await rpc.pauseJobType("no-such-type")).code).toBe("not_found");
  });

  it("creates, reads, lists, closes and cancels batches like the HTTP routes", async () => {
    const { tenant, key } = await newTenant("rpc-batches");
    const rpc = rpcFor(tenant);
    const created = ok(
      await rpc.createBatch({
        jobs: [{ type: "test-echo", payload: { value: 1 }, delaySeconds: 3600 }],
        description: "via rpc",
        open: true,
      }),
    ).batch;
    expect(created).toMatchObject({ status: "running", description: "via rpc", total: 1, open: true });
    expect(created.jobs.map((j) => j.batchId)).toEqual([created.id]);
    const added = ok(await rpc.addToBatch(created.id, [{ type: "test-echo", delaySeconds: 3600 }])).batch;
    expect(added.total).toBe(2);
    const viaHttp = await call("GET", `/v1/batches/${created.id}`, { token: key });
    expect(ok(await rpc.getBatch(created.id)).batch).toEqual(viaHttp.body);
    expect(ok(await rpc.listBatches()).page.data.map((b) => b.id)).toEqual([created.id]);
    expect(ok(await rpc.closeBatch(created.id)).batch.open).toBe(false);
    expect(refused(await rpc.addToBatch(created.id, [{ type: "test-echo" }])).code).toBe("conflict");
    const cancelled = ok(await rpc.cancelBatch(created.id)).batch;
    expect(cancelled).toMatchObject({ cancelled: 2, pending: 0 });
    const jobs = await call<{ data: { status: string }[] }>("GET", `/v1/jobs?batchId=${created.id}`, { token: key });
    expect(jobs.body.data.map((j) => j.status)).toEqual(["cancelled", "cancelled"]);
    // Another tenant sees no such batch; a refused create writes nothing.
    const other = await newTenant("rpc-batches-other");
    expect(refused(await rpcFor(other.tenant).getBatch(created.id)).code).toBe("not_found");
    expect(refused(await rpc.createBatch({ jobs: [] })).code).toBe("invalid_request");
    expect(ok(await rpc.listBatches()).page.data).toHaveLength(1);
  });
});

describe("JobsRpc's cost", () => {
  it("writes exactly the D1 rows an HTTP enqueue writes for the same batch", async () => {
    const { tenant, key } = await newTenant("rpc-cost");
    const jobs = Array.from({ length: 10 }, (_, i) => ({ type: "test-echo", payload: { i }, delaySeconds: 3600 }));

    const http = meterD1(env.DB);
    const res = await worker.fetch(
      new Request("http://x/v1/jobs/batch", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ jobs }),
      }),
      { ...env, DB: http.d1 },
      createExecutionContext(),
    );
    expect(res.status).toBe(202);

    // The entrypoint built by hand on a metered database, with the props a service binding would give it.
    const rpcDb = meterD1(env.DB);
    const ctx = Object.assign(createExecutionContext(), { props: { tenant } });
    const rpc = new JobsRpc(ctx, { ...env, DB: rpcDb.d1 });
    expect(ok(await rpc.enqueueBatch(jobs)).jobs).toHaveLength(10);

    expect(http.usage.rowsWritten).toBeGreaterThan(0);
    // The HTTP request also looks its key up (a read); the writes are the same.
    expect(rpcDb.usage.rowsWritten).toBe(http.usage.rowsWritten);
  });
});

describe("the typed HTTP client inside workerd", () => {
  it("enqueues and reads through a Worker's fetch, and throws JobsApiError with the contract's code", async () => {
    const { key } = await newTenant("client");
    // A Worker hands the client any fetch; here it is the Worker under test's own, as a service binding's would be.
    const client = createJobsClient({
      baseUrl: "http://edge-jobs.test",
      apiKey: key,
      fetch: (request) => exports.default.fetch(request),
    });
    const job = await client.enqueue({ type: "test-echo", payload: { value: "from a worker" } });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect((await client.get(job.id)).result).toEqual(done.result);
    const refused = await client.enqueue({ type: "no-such-type" }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JobsApiError);
    expect(refused).toMatchObject({ code: "unknown_job_type", status: 422 });
  });
});
