// Batches over HTTP: create, add while open, close, read, list, cancel; every refusal is the contract's error and writes nothing.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Batch } from "../../src/contract/batches";
import type { Job } from "../../src/contract/job";
import { log } from "../../src/core/logger";
import { finisherJobId } from "../../src/db/batch-statements";
import { newTenant } from "../fixtures/api";
import { capturingQueue, type Sent } from "../fixtures/engine-doubles";
import worker from "../fixtures/worker";
import { workerRequest } from "../fixtures/worker-request";

type BatchWithJobs = Batch & { jobs: Job[] };
type ErrorBody = { error: { code: string; message: string; issues?: { path: string; message: string }[] } };

/** The Worker with a queue that keeps its messages (nothing runs), and optionally ALLOW_PRIVATE_TARGETS off. */
function api(key: string, options: { strict?: boolean } = {}) {
  const { queue, sent } = capturingQueue();
  const testEnv = { ...env, JOBS_QUEUE: queue, ...(options.strict ? { ALLOW_PRIVATE_TARGETS: "false" } : {}) };
  const request = workerRequest(testEnv, key);
  return { request, sent, sentQueue: queue };
}

const echoJobs = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ type: "test-echo", payload: { value: from + i } }));

/** What a tenant has in D1: its batches and its jobs (batched or not), to prove a refusal wrote nothing. */
async function written(tenant: string) {
  const batches = await env.DB.prepare(
    "SELECT count(*) AS n, coalesce(sum(total), 0) AS total FROM batches WHERE tenant_id = ?",
  )
    .bind(tenant)
    .first<{ n: number; total: number }>();
  const jobs = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?")
    .bind(tenant)
    .first<{ n: number }>();
  return { batches: batches?.n, total: batches?.total, jobs: jobs?.n };
}

const statusesOf = async (tenant: string, batchId: string) =>
  (
    await env.DB.prepare("SELECT status FROM jobs WHERE tenant_id = ? AND batch_id = ? ORDER BY id")
      .bind(tenant, batchId)
      .all<{ status: string }>()
  ).results.map((r) => r.status);

const sentIds = (sent: Sent[]) => sent.map((m) => m.body.id).sort();

describe("POST /v1/batches", () => {
  it("creates the batch and its jobs in one go: 202 with the counts, the jobs carry batchId, one message each", async () => {
    const { key, tenant } = await newTenant("bat");
    const { request, sent } = api(key);
    const res = await request<BatchWithJobs>("POST", "/v1/batches", {
      jobs: echoJobs(3),
      description: "nightly import",
      onComplete: { type: "test-echo", payload: { value: "done" } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^bat_[0-9A-Z]{26}$/),
      status: "running",
      description: "nightly import",
      total: 3,
      pending: 3,
      succeeded: 0,
      dead: 0,
      cancelled: 0,
      open: false,
      finishedAt: null,
      onComplete: { type: "test-echo", payload: { value: "done" } },
      onSuccess: null,
    });
    expect(res.body.jobs).toHaveLength(3);
    for (const job of res.body.jobs) expect(job).toMatchObject({ batchId: res.body.id, status: "queued" });
    expect(sentIds(sent)).toEqual(res.body.jobs.map((j) => j.id).sort());
    expect(await written(tenant)).toEqual({ batches: 1, total: 3, jobs: 3 });

    const got = await request<Batch>("GET", `/v1/batches/${res.body.id}`);
    expect(got.status).toBe(200);
    const { jobs: _jobs, ...batch } = res.body;
    expect(got.body).toEqual(batch);
  });

  it("refuses 0 or 101 jobs, an idempotency key inside a batch, and unknown fields: 400, nothing written", async () => {
    const { key, tenant } = await newTenant("bat-400");
    const { request, sent } = api(key);
    const bodies = [
      { jobs: [] },
      { jobs: echoJobs(101) },
      { jobs: [{ type: "test-echo", idempotencyKey: "k1" }] },
      { jobs: [{ type: "test-echo", debounce: { key: "d", seconds: 5 } }] },
      { jobs: echoJobs(1), open: "yes" },
      { jobs: echoJobs(1), surprise: 1 },
      { jobs: echoJobs(1), onSuccess: { type: "test-echo", payload: "not an object" } },
      { jobs: echoJobs(1), callbackUrl: "not a url" },
      { jobs: echoJobs(1), description: "x".repeat(501) },
    ];
    for (const body of bodies) {
      const res = await request<ErrorBody>("POST", "/v1/batches", body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(res.body.error.issues?.length).toBeGreaterThan(0);
    }
    const keyed = await request<ErrorBody>("POST", "/v1/batches", {
      jobs: [{ type: "test-echo", idempotencyKey: "k" }],
    });
    expect(keyed.body.error.issues?.[0]?.path).toBe("jobs.0.idempotencyKey");
    expect(await written(tenant)).toEqual({ batches: 0, total: 0, jobs: 0 });
    expect(sent).toHaveLength(0);
  });

  it("refuses an unknown onSuccess/onComplete or job type with 422 like enqueue, and a payload its type refuses: nothing written", async () => {
    const { key, tenant } = await newTenant("bat-422");
    const { request, sent } = api(key);
    for (const body of [
      { jobs: echoJobs(2), onSuccess: { type: "no-such-type" } },
      { jobs: echoJobs(2), onComplete: { type: "no-such-type" } },
      { jobs: [...echoJobs(2), { type: "no-such-type" }] },
    ]) {
      const res = await request<ErrorBody>("POST", "/v1/batches", body);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("unknown_job_type");
    }
    const badPayload = await request<ErrorBody>("POST", "/v1/batches", {
      jobs: echoJobs(1),
      onComplete: { type: "test-flaky", payload: { failTimes: "many" } },
    });
    expect(badPayload.status).toBe(400);
    expect(badPayload.body.error.issues?.[0]?.path).toBe("onComplete.payload.failTimes");
    expect(await written(tenant)).toEqual({ batches: 0, total: 0, jobs: 0 });
    expect(sent).toHaveLength(0);
  });

  it("refuses a private callbackUrl outside local development (400 on callbackUrl), nothing written", async () => {
    const { key, tenant } = await newTenant("bat-url");
    const { request, sent } = api(key, { strict: true });
    for (const callbackUrl of ["http://127.0.0.1/hook", "http://example.com/hook"]) {
      const res = await request<ErrorBody>("POST", "/v1/batches", { jobs: echoJobs(1), callbackUrl });
      expect(res.status).toBe(400);
      expect(res.body.error.issues?.[0]?.path).toBe("callbackUrl");
    }
    expect(await written(tenant)).toEqual({ batches: 0, total: 0, jobs: 0 });
    expect(sent).toHaveLength(0);
  });
});

describe("POST /v1/batches/:id/jobs and /close", () => {
  it("adds to an open batch, closes it, then refuses further adds with 409 and writes nothing", async () => {
    const { key, tenant } = await newTenant("bat-add");
    const { request, sent } = api(key);
    const created = await request<BatchWithJobs>("POST", "/v1/batches", { jobs: echoJobs(2), open: true });
    expect(created.body).toMatchObject({ open: true, total: 2 });
    const id = created.body.id;

    const added = await request<BatchWithJobs>("POST", `/v1/batches/${id}/jobs`, { jobs: echoJobs(3, 10) });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    expect(added.body).toMatchObject({ id, total: 5, pending: 5, open: true, status: "running" });
    expect(added.body.jobs.map((j) => j.payload)).toEqual([{ value: 10 }, { value: 11 }, { value: 12 }]);
    expect(added.body.jobs.every((j) => j.batchId === id)).toBe(true);

    const closed = await request<Batch>("POST", `/v1/batches/${id}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ id, open: false, total: 5, status: "running" });
    // Closing again answers the same batch.
    expect((await request<Batch>("POST", `/v1/batches/${id}/close`)).body).toMatchObject({ open: false, total: 5 });

    const before = await written(tenant);
    const messagesBefore = sent.length;
    const refused = await request<ErrorBody>("POST", `/v1/batches/${id}/jobs`, { jobs: echoJobs(2) });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("conflict");
    expect(await written(tenant)).toEqual(before);
    expect(sent.length).toBe(messagesBefore);
    expect(before).toEqual({ batches: 1, total: 5, jobs: 5 });
  });

  it("an add that loses the race to a close writes nothing: the guard fails the whole transaction", async () => {
    const { key, tenant } = await newTenant("bat-race");
    const { request } = api(key);
    const created = await request<BatchWithJobs>("POST", "/v1/batches", { jobs: echoJobs(1), open: true });
    const id = created.body.id;
    // The add's own transaction, run after the batch closed (as if the close committed between its read and its write).
    await env.DB.prepare("UPDATE batches SET open = 0 WHERE tenant_id = ? AND id = ?").bind(tenant, id).run();
    const { addJobsStatements } = await import("../../src/db/batch-statements");
    const insert = env.DB.prepare(
      "INSERT INTO jobs (tenant_id, id, type, status, payload, max_attempts, options, run_at, created_at, updated_at, metadata, batch_id) VALUES (?, 'job_X', 'test-echo', 'queued', '{}', 1, '{}', 0, 0, 0, '{}', ?)",
    ).bind(tenant, id);
    await expect(env.DB.batch([...addJobsStatements(env.DB, tenant, id, 1, Date.now()), insert])).rejects.toThrow(
      /NOT NULL constraint failed: batches.status/,
    );
    expect(await written(tenant)).toEqual({ batches: 1, total: 1, jobs: 1 });
  });

  it("answers 404 for an unknown batch and for another tenant's, on every batch route, and writes nothing", async () => {
    const owner = await newTenant("bat-own");
    const other = await newTenant("bat-other");
    const mine = await api(owner.key).request<BatchWithJobs>("POST", "/v1/batches", { jobs: echoJobs(1), open: true });
    const { request, sent } = api(other.key);
    for (const id of [mine.body.id, "bat_00000000000000000000000000", "nope"]) {
      for (const [method, path, body] of [
        ["GET", `/v1/batches/${id}`, undefined],
        ["POST", `/v1/batches/${id}/jobs`, { jobs: echoJobs(1) }],
        ["POST", `/v1/batches/${id}/close`, undefined],
        ["POST", `/v1/batches/${id}/cancel`, undefined],
      ] as const) {
        const res = await request<ErrorBody>(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.error.code).toBe("not_found");
      }
    }
    expect(await written(other.tenant)).toEqual({ batches: 0, total: 0, jobs: 0 });
    expect(sent).toHaveLength(0);
    // The owner's batch is untouched (still open, one job).
    expect((await api(owner.key).request<Batch>("GET", `/v1/batches/${mine.body.id}`)).body).toMatchObject({
      open: true,
      total: 1,
    });
  });

  it("a close after every job finished finishes the batch at once, and enqueues onComplete once", async () => {
    const { key, tenant } = await newTenant("bat-close");
    const { request, sent } = api(key);
    const created = await request<BatchWithJobs>("POST", "/v1/batches", {
      jobs: echoJobs(2),
      open: true,
      onComplete: { type: "test-echo", payload: { value: "all done" } },
      onSuccess: { type: "test-echo" },
    });
    const id = created.body.id;
    await env.DB.prepare("UPDATE jobs SET status = 'succeeded', finished_at = 1 WHERE tenant_id = ? AND batch_id = ?")
      .bind(tenant, id)
      .run();
    const closed = await request<Batch>("POST", `/v1/batches/${id}/close`);
    expect(closed.body).toMatchObject({
      status: "succeeded",
      succeeded: 2,
      pending: 0,
      open: false,
      finishedAt: expect.any(String),
    });
    const finishers = [finisherJobId(id, "onComplete"), finisherJobId(id, "onSuccess")];
    expect(
      sent
        .map((m) => m.body.id)
        .filter((i) => finishers.includes(i))
        .sort(),
    ).toEqual([...finishers].sort());
    const onComplete = await request<Job>("GET", `/v1/jobs/${finisherJobId(id, "onComplete")}`);
    expect(onComplete.body).toMatchObject({
      type: "test-echo",
      status: "queued",
      batchId: null,
      payload: { value: "all done", batch: { id, total: 2, succeeded: 2, dead: 0, cancelled: 0 } },
    });
    // A second close changes nothing and enqueues nothing more.
    const count = sent.length;
    await request<Batch>("POST", `/v1/batches/${id}/close`);
    expect(sent.length).toBe(count);
    const jobsNow = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ n: number }>();
    expect(jobsNow?.n).toBe(4);
  });
});

describe("POST /v1/batches/:id/cancel", () => {
  it("cancels exactly the jobs that have not started, closes the batch, counts them, and enqueues onComplete but not onSuccess", async () => {
    const { key, tenant } = await newTenant("bat-cancel");
    const { request, sent } = api(key);
    const created = await request<BatchWithJobs>("POST", "/v1/batches", {
      jobs: [...echoJobs(4), { type: "test-echo", delaySeconds: 86_400 }],
      open: true,
      onComplete: { type: "test-echo" },
      onSuccess: { type: "test-echo" },
    });
    const id = created.body.id;
    const [done, running] = created.body.jobs;
    await env.DB.prepare("UPDATE jobs SET status = 'succeeded', finished_at = 1 WHERE tenant_id = ? AND id = ?")
      .bind(tenant, done?.id)
      .run();
    await env.DB.prepare("UPDATE jobs SET status = 'running', lease_until = ? WHERE tenant_id = ? AND id = ?")
      .bind(Date.now() + 60_000, tenant, running?.id)
      .run();

    const cancelled = await request<Batch>("POST", `/v1/batches/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    // 2 queued + 1 scheduled cancelled; the running one keeps the batch running (it has started).
    expect(cancelled.body).toMatchObject({
      open: false,
      status: "running",
      total: 5,
      succeeded: 1,
      cancelled: 3,
      pending: 1,
    });
    expect((await statusesOf(tenant, id)).sort()).toEqual([
      "cancelled",
      "cancelled",
      "cancelled",
      "running",
      "succeeded",
    ]);
    const finisherPrefix = `job_${id.slice(4, 29)}`;
    expect(sent.filter((m) => m.body.id.startsWith(finisherPrefix))).toHaveLength(0);

    // The running job ends (dead, here by hand plus the recount every finishing path runs): the batch completes.
    const { batchProgress } = await import("../../src/engine/batch-progress");
    const now = Date.now();
    const progress = batchProgress(env.DB, [{ tenantId: tenant, batchId: id }], now);
    const results = await env.DB.batch([
      env.DB.prepare("UPDATE jobs SET status = 'dead', finished_at = ? WHERE tenant_id = ? AND id = ?").bind(
        now,
        tenant,
        running?.id,
      ),
      ...progress.statements,
    ]);
    await progress.afterCommit(results.slice(1), api(key).sentQueue, log);
    const after = await request<Batch>("GET", `/v1/batches/${id}`);
    expect(after.body).toMatchObject({ status: "completed", succeeded: 1, dead: 1, cancelled: 3, pending: 0 });
    const finishers = await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ? AND id LIKE ?")
      .bind(tenant, `${finisherPrefix}%`)
      .all<{ id: string }>();
    expect(finishers.results.map((r) => r.id)).toEqual([finisherJobId(id, "onComplete")]);
  });
});

describe("GET /v1/batches", () => {
  it("lists the tenant's batches newest first, a page at a time, filtered by status; refuses a bad filter with 400", async () => {
    const { key, tenant } = await newTenant("bat-list");
    const { request } = api(key);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await request<BatchWithJobs>("POST", "/v1/batches", { jobs: echoJobs(1), open: true })).body.id);
    }
    // The middle one finishes: its job succeeds, then it is closed.
    await env.DB.prepare("UPDATE jobs SET status = 'succeeded' WHERE tenant_id = ? AND batch_id = ?")
      .bind(tenant, ids[1])
      .run();
    expect((await request<Batch>("POST", `/v1/batches/${ids[1]}/close`)).body.status).toBe("succeeded");

    const first = await request<{ data: Batch[]; nextCursor: string | null }>("GET", "/v1/batches?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.data.map((b) => b.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.nextCursor).toBe(ids[1]);
    const second = await request<{ data: Batch[]; nextCursor: string | null }>(
      "GET",
      `/v1/batches?limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body).toEqual({ data: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    const succeeded = await request<{ data: Batch[] }>("GET", "/v1/batches?status=succeeded");
    expect(succeeded.body.data.map((b) => b.id)).toEqual([ids[1]]);
    const running = await request<{ data: Batch[] }>("GET", "/v1/batches?status=running");
    expect(running.body.data.map((b) => b.id)).toEqual([ids[2], ids[0]]);
    // Another tenant sees none of them.
    const other = await newTenant("bat-list-other");
    expect((await api(other.key).request<{ data: Batch[] }>("GET", "/v1/batches")).body.data).toEqual([]);

    for (const q of ["status=done", "cursor=job_01JABCDEFGHJKMNPQRSTVWXYZ0", "limit=0", "limit=101"]) {
      const res = await request<ErrorBody>("GET", `/v1/batches?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
  });
});

describe("a batch's jobs", () => {
  it("GET /v1/jobs?batchId= lists exactly the batch's jobs, newest first; a finished job of a running batch cannot be deleted", async () => {
    const { key, tenant } = await newTenant("bat-jobs");
    const { request } = api(key);
    const created = await request<BatchWithJobs>("POST", "/v1/batches", { jobs: echoJobs(3), open: true });
    await request<BatchWithJobs>("POST", "/v1/batches", { jobs: echoJobs(2) });
    await request<Job>("POST", "/v1/jobs", { type: "test-echo" });
    const id = created.body.id;
    const listed = await request<{ data: Job[]; nextCursor: string | null }>("GET", `/v1/jobs?batchId=${id}&limit=2`);
    expect(listed.status).toBe(200);
    const ids = created.body.jobs
      .map((j) => j.id)
      .sort()
      .reverse();
    expect(listed.body.data.map((j) => j.id)).toEqual(ids.slice(0, 2));
    const rest = await request<{ data: Job[] }>("GET", `/v1/jobs?batchId=${id}&cursor=${listed.body.nextCursor}`);
    expect(rest.body.data.map((j) => j.id)).toEqual(ids.slice(2));
    expect((await request<ErrorBody>("GET", "/v1/jobs?batchId=nope")).status).toBe(400);

    // A finished job of a running batch stays (the batch counts it from its row); once the batch finished, it may go.
    const [first] = created.body.jobs;
    await env.DB.prepare("UPDATE jobs SET status = 'succeeded' WHERE tenant_id = ? AND batch_id = ?")
      .bind(tenant, id)
      .run();
    expect((await request<ErrorBody>("DELETE", `/v1/jobs/${first?.id}`)).status).toBe(409);
    expect((await request<Batch>("POST", `/v1/batches/${id}/close`)).body.status).toBe("succeeded");
    const deleted = await worker.fetch(
      new Request(`http://edge-jobs.test/v1/jobs/${first?.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${key}` },
      }),
      env,
      createExecutionContext(),
    );
    expect(deleted.status).toBe(204);
  });
});

describe("the OpenAPI document", () => {
  it("describes every batch route and the Batch, BatchWithJobs, BatchPage and BatchCallbackEvent schemas", async () => {
    const res = await worker.fetch(new Request("http://edge-jobs.test/openapi.json"), env, createExecutionContext());
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths["/v1/batches"] ?? {}).sort()).toEqual(["get", "post"]);
    for (const path of ["/v1/batches/{id}/jobs", "/v1/batches/{id}/close", "/v1/batches/{id}/cancel"]) {
      expect(Object.keys(doc.paths[path] ?? {}), path).toEqual(["post"]);
    }
    expect(Object.keys(doc.paths["/v1/batches/{id}"] ?? {})).toEqual(["get"]);
    for (const name of [
      "Batch",
      "BatchWithJobs",
      "BatchPage",
      "BatchCallbackEvent",
      "CreateBatchRequest",
      "AddBatchJobsRequest",
    ]) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
  });
});
