// The v1.1 Job view: queue, batchId, parentId, waitingFor on every job; GET /v1/jobs/:id steps; listing by waiting and batch.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { newId } from "../../src/core/ids";
import { MAX_STEPS_PER_JOB } from "../../src/core/steps";
import { openDb } from "../../src/db/client";
import { insertJob, type NewJob } from "../../src/db/jobs";
import { jobSteps } from "../../src/db/schema";
import { call, enqueue, newTenant } from "../fixtures/api";

type Step = {
  name: string;
  kind: string;
  status: string;
  result: unknown;
  error: unknown;
  startedAt: string;
  finishedAt: string | null;
  childId?: string;
};
type Detail = Job & { attemptLog: unknown[]; steps: Step[] };

const NOW = Date.now();

function row(tenant: string, status: string, extra: Partial<NewJob> = {}): NewJob {
  return {
    tenantId: tenant,
    id: newId("job", NOW),
    type: "test-echo",
    status,
    payload: "{}",
    attempts: 0,
    maxAttempts: 5,
    options: JSON.stringify({ backoff: { type: "fixed", delaySeconds: 0 }, timeoutSeconds: 60 }),
    runAt: NOW,
    createdAt: NOW,
    updatedAt: NOW,
    metadata: "{}",
    ...extra,
  };
}

const stepRow = (tenant: string, jobId: string, name: string, extra: Partial<typeof jobSteps.$inferInsert>) => ({
  tenantId: tenant,
  jobId,
  name,
  kind: "run",
  status: "succeeded",
  startedAt: NOW,
  ...extra,
});

describe("the Job's v1.1 fields", () => {
  it("are on a plain job: default queue, no batch, no parent, not waiting, no steps", async () => {
    const { key } = await newTenant("views-plain");
    const created = await enqueue(key, { type: "test-echo", payload: { a: 1 } });
    expect(created).toMatchObject({ queue: "default", batchId: null, parentId: null, waitingFor: null });
    const got = await call<Detail>("GET", `/v1/jobs/${created.id}`, { token: key });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ queue: "default", batchId: null, parentId: null, waitingFor: null, steps: [] });
    // The field order of the contract's example: the new fields follow metadata.
    expect(Object.keys(got.body).slice(-7)).toEqual([
      "metadata",
      "queue",
      "batchId",
      "parentId",
      "waitingFor",
      "attemptLog",
      "steps",
    ]);
  });

  it("show a parked job's waitingFor, its parent, and its steps in order with parsed results and errors", async () => {
    const { key, tenant } = await newTenant("views-steps");
    const db = openDb(env.DB);
    const until = new Date(NOW + 3_600_000).toISOString();
    const parent = row(tenant, "waiting", { type: "test-sleep" });
    const job = row(tenant, "waiting", {
      parentId: parent.id,
      runAt: NOW + 3_600_000,
      waitingFor: JSON.stringify({ kind: "event", event: "payment.captured", key: "o-1", until }),
    });
    await insertJob(db, parent).run();
    await insertJob(db, job).run();
    const childId = newId("job", NOW);
    await db.insert(jobSteps).values([
      // Inserted out of order: the view sorts by startedAt, then by name.
      stepRow(tenant, job.id, "wait", {
        kind: "event",
        status: "waiting",
        result: null,
        startedAt: NOW + 30,
        wakeAt: NOW + 3_600_000,
        eventName: "payment.captured",
        eventKey: "o-1",
      }),
      stepRow(tenant, job.id, "b-second", { result: '{"n":2}', startedAt: NOW + 10, finishedAt: NOW + 11 }),
      stepRow(tenant, job.id, "a-first", { result: '{"n":1}', startedAt: NOW + 10, finishedAt: NOW + 12 }),
      stepRow(tenant, job.id, "child", {
        kind: "invoke",
        status: "failed",
        result: null,
        error: JSON.stringify({ message: "child died", name: "ChildJobFailedError", childStatus: "dead" }),
        startedAt: NOW + 20,
        finishedAt: NOW + 25,
        childId,
      }),
      stepRow(tenant, job.id, "nap", { kind: "sleep", result: null, startedAt: NOW, finishedAt: NOW + 5 }),
      // Another job's step is not this job's.
      stepRow(tenant, parent.id, "elsewhere", { startedAt: NOW }),
    ]);

    const got = await call<Detail>("GET", `/v1/jobs/${job.id}`, { token: key });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      status: "waiting",
      parentId: parent.id,
      waitingFor: { kind: "event", event: "payment.captured", key: "o-1", until },
    });
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(got.body.steps).toEqual([
      {
        name: "nap",
        kind: "sleep",
        status: "succeeded",
        result: null,
        error: null,
        startedAt: iso(NOW),
        finishedAt: iso(NOW + 5),
      },
      {
        name: "a-first",
        kind: "run",
        status: "succeeded",
        result: { n: 1 },
        error: null,
        startedAt: iso(NOW + 10),
        finishedAt: iso(NOW + 12),
      },
      {
        name: "b-second",
        kind: "run",
        status: "succeeded",
        result: { n: 2 },
        error: null,
        startedAt: iso(NOW + 10),
        finishedAt: iso(NOW + 11),
      },
      {
        name: "child",
        kind: "invoke",
        status: "failed",
        result: null,
        error: { message: "child died", name: "ChildJobFailedError", childStatus: "dead" },
        startedAt: iso(NOW + 20),
        finishedAt: iso(NOW + 25),
        childId,
      },
      {
        name: "wait",
        kind: "event",
        status: "waiting",
        result: null,
        error: null,
        startedAt: iso(NOW + 30),
        finishedAt: null,
      },
    ]);

    // Another tenant's key sees neither the job nor its steps.
    const other = await newTenant("views-steps-other");
    expect((await call("GET", `/v1/jobs/${job.id}`, { token: other.key })).status).toBe(404);

    // The list shows the same fields, and status=waiting finds exactly the parked jobs.
    const waiting = await call<{ data: Job[] }>("GET", "/v1/jobs?status=waiting", { token: key });
    expect(waiting.status).toBe(200);
    expect(waiting.body.data.map((j) => j.id).sort()).toEqual([parent.id, job.id].sort());
    expect(waiting.body.data.find((j) => j.id === job.id)?.waitingFor).toEqual({
      kind: "event",
      event: "payment.captured",
      key: "o-1",
      until,
    });
  });

  it(`list at most ${MAX_STEPS_PER_JOB} steps of a job`, async () => {
    const { key, tenant } = await newTenant("views-many");
    const job = row(tenant, "succeeded", { finishedAt: NOW });
    await insertJob(openDb(env.DB), job).run();
    const names = Array.from({ length: MAX_STEPS_PER_JOB + 5 }, (_, i) => `s-${String(i).padStart(4, "0")}`);
    await env.DB.prepare(
      `INSERT INTO job_steps (tenant_id, job_id, name, kind, status, result, started_at)
       SELECT ?1, ?2, value, 'run', 'succeeded', 'null', ?3 FROM json_each(?4)`,
    )
      .bind(tenant, job.id, NOW, JSON.stringify(names))
      .run();
    const got = await call<Detail>("GET", `/v1/jobs/${job.id}`, { token: key });
    expect(got.status).toBe(200);
    expect(got.body.steps).toHaveLength(MAX_STEPS_PER_JOB);
    expect(got.body.steps[0]?.name).toBe("s-0000");
  });
});

describe("jobs of a batch", () => {
  it("are listed by batchId, and a finished one cannot be deleted while its batch runs", async () => {
    const { key, tenant } = await newTenant("views-batch");
    const db = openDb(env.DB);
    const batchId = newId("bat", NOW);
    await env.DB.prepare(
      "INSERT INTO batches (tenant_id, id, status, open, total, created_at, updated_at) VALUES (?1, ?2, 'running', 0, 2, ?3, ?3)",
    )
      .bind(tenant, batchId, NOW)
      .run();
    const done = row(tenant, "succeeded", { batchId, finishedAt: NOW });
    const pending = row(tenant, "queued", { batchId });
    const outside = row(tenant, "succeeded", { finishedAt: NOW });
    for (const r of [done, pending, outside]) await insertJob(db, r).run();

    const page = await call<{ data: Job[] }>("GET", `/v1/jobs?batchId=${batchId}`, { token: key });
    expect(page.status).toBe(200);
    expect(page.body.data.map((j) => j.id).sort()).toEqual([done.id, pending.id].sort());
    expect(page.body.data.every((j) => j.batchId === batchId)).toBe(true);
    expect((await call("GET", "/v1/jobs?batchId=nope", { token: key })).status).toBe(400);

    const refused = await call<{ error: { code: string; message: string } }>("DELETE", `/v1/jobs/${done.id}`, {
      token: key,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("while the batch is running");
    expect((await call("DELETE", `/v1/jobs/${outside.id}`, { token: key })).status).toBe(204);

    await env.DB.prepare("UPDATE batches SET status = 'completed' WHERE tenant_id = ?1 AND id = ?2")
      .bind(tenant, batchId)
      .run();
    expect((await call("DELETE", `/v1/jobs/${done.id}`, { token: key })).status).toBe(204);
  });
});
