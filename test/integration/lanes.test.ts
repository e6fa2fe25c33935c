// Lanes (issue #16): `queue` on enqueue and in defineJob, each lane its own Cloudflare Queue; refusals, routing of
// every re-send (rescue, dead-letter requeue), job types, metrics byQueue, and through the real queues.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Job, JobMessage } from "../../src/contract/job";
import { createRegistry, defineJob } from "../../src/core/define-job";
import { loadJobRows } from "../../src/db/consumer-statements";
import { consumeJobs } from "../../src/engine/consumer";
import { tick } from "../../src/scheduler/tick";
import { createWorker } from "../../src/worker";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";
import { dashboardCookie, dashboardPage } from "../fixtures/dashboard-session";
import { defaultJobs } from "../fixtures/default-jobs";
import { answeringBatch, capturingQueue, failingQueue, type Sent } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

const registry = createRegistry([...defaultJobs, ...testJobs]);

async function fetchWith(
  lanes: Partial<Record<"JOBS_QUEUE" | "JOBS_QUEUE_CRITICAL", Queue>>,
  key: string,
  path: string,
  body?: unknown,
) {
  const res = await worker.fetch(
    new Request(`http://x${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, ...lanes },
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const idsOf = (sent: Sent[]) => sent.map((m) => (m.body as JobMessage).id);

describe("lanes: enqueue", () => {
  it("runs a job in the lane its enqueue names, through that lane's own queue", async () => {
    const { key } = await newTenant("lanes");
    const job = await enqueue(key, { type: "test-echo", payload: { value: 1 }, queue: "critical" });
    expect(job.queue).toBe("critical");
    const done = await waitForStatus(key, job.id, ["succeeded"]);
    expect(done.queue).toBe("critical");
    expect(done.result).toEqual({ echoed: 1 });
  });

  it("sends a critical job's message to JOBS_QUEUE_CRITICAL and a default one's to JOBS_QUEUE", async () => {
    const { key, tenant } = await newTenant("lanes");
    const main = capturingQueue();
    const critical = capturingQueue();
    const lanes = { JOBS_QUEUE: main.queue, JOBS_QUEUE_CRITICAL: critical.queue };
    const res = await fetchWith(lanes, key, "/v1/jobs/batch", {
      jobs: [
        { type: "test-echo", payload: {} },
        { type: "test-echo", payload: {}, queue: "critical" },
        // The job type's lane (defineJob({queue: "critical"})), and an enqueue overriding it.
        { type: "test-urgent", payload: {} },
        { type: "test-urgent", payload: {}, queue: "default" },
      ],
    });
    expect(res.status).toBe(202);
    const jobs = (res.body as { jobs: Job[] }).jobs;
    expect(jobs.map((j) => j.queue)).toEqual(["default", "critical", "critical", "default"]);
    expect(idsOf(main.sent)).toEqual([jobs[0]?.id, jobs[3]?.id]);
    expect(idsOf(critical.sent)).toEqual([jobs[1]?.id, jobs[2]?.id]);
    // A default-lane message carries no lane (its bytes are as before lanes); a critical one names it.
    expect(main.sent[0]?.body).toEqual({ tenant, id: jobs[0]?.id });
    expect(critical.sent[0]?.body).toMatchObject({ queue: "critical" });
    const rows = await loadJobRows(
      env.DB,
      jobs.map((j) => ({ tenant, id: j.id })),
    );
    expect(rows.map((r) => r.queue).sort()).toEqual(["critical", "critical", "default", "default"]);
  });

  it("refuses an unknown lane with 400 at path queue and writes nothing", async () => {
    const { key } = await newTenant("lanes");
    const single = await call<{ error: { code: string; issues: { path: string; message: string }[] } }>(
      "POST",
      "/v1/jobs",
      { token: key, body: { type: "test-echo", payload: {}, queue: "bulk" } },
    );
    expect(single.status).toBe(400);
    expect(single.body.error.issues).toEqual([{ path: "queue", message: expect.stringContaining('no lane "bulk"') }]);
    expect(single.body.error.issues[0]?.message).toContain("default, critical");
    const batch = await call<{ error: { issues: { path: string }[] } }>("POST", "/v1/jobs/batch", {
      token: key,
      body: { jobs: [{ type: "test-echo" }, { type: "test-echo", queue: "Critical!" }] },
    });
    expect(batch.status).toBe(400);
    expect(batch.body.error.issues.map((i) => i.path)).toEqual(["jobs.1.queue"]);
    for (const bad of [{ queue: "" }, { queue: 7 }, { queue: "x".repeat(33) }]) {
      const res = await call("POST", "/v1/jobs", { token: key, body: { type: "test-echo", ...bad } });
      expect(res.status).toBe(400);
    }
    const list = await call<{ data: Job[] }>("GET", "/v1/jobs", { token: key });
    expect(list.body.data).toEqual([]);
  });
});

describe("lanes: re-sends stay in their lane", () => {
  it("the tick's rescue re-sends a lost critical message to the critical queue", async () => {
    const { key } = await newTenant("lanes");
    // The enqueue's send fails: the row is committed and waits for the rescue.
    const res = await fetchWith({ JOBS_QUEUE_CRITICAL: failingQueue }, key, "/v1/jobs", {
      type: "test-echo",
      payload: {},
      queue: "critical",
    });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    const main = capturingQueue();
    const critical = capturingQueue();
    await tick({ ...env, JOBS_QUEUE: main.queue, JOBS_QUEUE_CRITICAL: critical.queue }, Date.now() + 10 * 60_000, {
      registry,
    });
    expect(idsOf(critical.sent)).toContain(id);
    expect(idsOf(main.sent)).not.toContain(id);
  });

  it("a critical job back from its lane's dead-letter queue goes back in line in the critical lane", async () => {
    const { key, tenant } = await newTenant("lanes");
    const parked = capturingQueue();
    const res = await fetchWith({ JOBS_QUEUE_CRITICAL: parked.queue }, key, "/v1/jobs", {
      type: "test-echo",
      payload: {},
      queue: "critical",
    });
    const id = res.body.id as string;
    const main = capturingQueue();
    const critical = capturingQueue();
    const { batch, answers } = answeringBatch("jobs-critical-dlq", [
      { id: "m1", body: { tenant, id, queue: "critical" } satisfies JobMessage },
    ]);
    await worker.queue(
      batch,
      { ...env, JOBS_QUEUE: main.queue, JOBS_QUEUE_CRITICAL: critical.queue },
      createExecutionContext(),
    );
    expect(answers.get("m1")?.kind).toBe("ack");
    expect(idsOf(critical.sent)).toEqual([id]);
    expect(main.sent).toEqual([]);
  });
});

describe("lanes: the consumer's re-sends", () => {
  it("a critical job that fails is retried through the critical queue, not the default one", async () => {
    const { key, tenant } = await newTenant("lanes");
    const parked = capturingQueue();
    const res = await fetchWith({ JOBS_QUEUE_CRITICAL: parked.queue }, key, "/v1/jobs", {
      type: "test-flaky",
      payload: { failTimes: 1 },
      queue: "critical",
    });
    const id = res.body.id as string;
    const main = capturingQueue();
    const critical = capturingQueue();
    const { batch } = answeringBatch("jobs-critical", [{ id: "m1", body: parked.sent[0]?.body }]);
    await consumeJobs(batch, { ...env, JOBS_QUEUE: main.queue, JOBS_QUEUE_CRITICAL: critical.queue }, registry);
    const [row] = await loadJobRows(env.DB, [{ tenant, id }]);
    expect(row?.status).toBe("retrying");
    expect(idsOf(critical.sent)).toEqual([id]);
    expect(critical.sent[0]?.body).toMatchObject({ queue: "critical" });
    expect(main.sent).toEqual([]);
  });

  it("a debounced enqueue that replaces the window's job moves it to the lane it names", async () => {
    const { key, tenant } = await newTenant("lanes");
    const debounce = { key: "doc-1", seconds: 30 };
    const first = await enqueue(key, { type: "test-echo", payload: { value: 1 }, debounce });
    expect(first.queue).toBe("default");
    const again = await call<Job>("POST", "/v1/jobs", {
      token: key,
      body: { type: "test-echo", payload: { value: 2 }, debounce, queue: "critical" },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.id);
    const [row] = await loadJobRows(env.DB, [{ tenant, id: first.id }]);
    expect(row?.queue).toBe("critical");
  });

  it("a job type naming a lane the deployment lacks fails every invocation loudly, naming the type", async () => {
    const stray = defineJob({ type: "test-stray", input: z.object({}), queue: "bulk", run: () => null });
    const misconfigured = createWorker({ jobs: [...defaultJobs, stray] });
    expect(() => misconfigured.fetch(new Request("http://x/healthz"), env, createExecutionContext())).toThrow(
      /job type "test-stray" runs in lane "bulk", which LANES does not declare/,
    );
  });
});

describe("lanes: views", () => {
  it("GET /v1/job-types names each type's lane", async () => {
    const { key } = await newTenant("lanes");
    const res = await call<{ data: { type: string; queue: string }[] }>("GET", "/v1/job-types", { token: key });
    const lane = (type: string) => res.body.data.find((t) => t.type === type)?.queue;
    expect(lane("test-urgent")).toBe("critical");
    expect(lane("test-echo")).toBe("default");
  });

  it("GET /v1/metrics reports byQueue for every declared lane, and Prometheus per lane", async () => {
    const { key, tenant } = await newTenant("lanes");
    await enqueue(key, { type: "test-echo", payload: {}, delaySeconds: 600, queue: "critical" });
    await enqueue(key, { type: "test-echo", payload: {}, delaySeconds: 600, queue: "critical" });
    await enqueue(key, { type: "test-echo", payload: {}, delaySeconds: 600 });
    const res = await call<{ byQueue: Record<string, { scheduled: number; depth: number; queue: unknown }> }>(
      "GET",
      "/v1/metrics",
      { token: key },
    );
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.byQueue)).toEqual(["critical", "default"]);
    expect(res.body.byQueue.critical).toMatchObject({ scheduled: 2, depth: 0 });
    expect(res.body.byQueue.default).toMatchObject({ scheduled: 1, depth: 0 });
    const text = await call<string>("GET", "/metrics", { token: key });
    expect(text.body).toContain(`edge_jobs_lane_depth{tenant="${tenant}",queue="critical"} 0`);
  });

  it("the dashboard's overview lists each lane with its counts", async () => {
    const { key } = await newTenant("lanes");
    await enqueue(key, { type: "test-echo", payload: {}, delaySeconds: 600, queue: "critical" });
    const overview = await dashboardPage(await dashboardCookie(key), "/dashboard");
    expect(overview.status).toBe(200);
    const lanes = overview.html.slice(overview.html.indexOf('data-testid="lanes"'));
    const rowOf = (lane: string) =>
      /<tr>(.*?)<\/tr>/s.exec(lanes.slice(lanes.indexOf(`<td>${lane}</td>`) - 4))?.[1] ?? "";
    const cells = (lane: string) => [...rowOf(lane).matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]);
    // Lane, queued, oldest, running, retrying, waiting, scheduled, dead, backlog.
    expect(cells("critical").slice(0, 2)).toEqual(["critical", "0"]);
    expect(cells("critical")[6]).toBe("1");
    expect(cells("default")[6]).toBe("0");
  });
});

describe("lanes: a backlog in default never delays critical", () => {
  it("a critical job finishes while thousands of default jobs wait", { timeout: 120_000 }, async () => {
    const { key } = await newTenant("lanes");
    const backlog = 3_000;
    for (let i = 0; i < backlog; i += 100) {
      const res = await call("POST", "/v1/jobs/batch", {
        token: key,
        body: { jobs: Array.from({ length: 100 }, () => ({ type: "test-sleep", payload: { ms: 250 } })) },
      });
      expect(res.status).toBe(202);
    }
    const started = Date.now();
    const urgent = await enqueue(key, { type: "test-urgent", payload: { value: "now" } });
    const done = await waitForStatus(key, urgent.id, ["succeeded"], 30_000);
    const latencyMs = Date.now() - started;
    const metrics = await call<{ byQueue: Record<string, { depth: number; running: number }> }>("GET", "/v1/metrics", {
      token: key,
    });
    const waiting = (metrics.body.byQueue.default?.depth ?? 0) + (metrics.body.byQueue.default?.running ?? 0);
    console.log(`critical lane: succeeded ${latencyMs} ms after enqueue; default lane still held ${waiting} jobs`);
    expect(done.queue).toBe("critical");
    // The default lane's backlog is still there when the critical job is done: it did not wait its turn.
    expect(waiting).toBeGreaterThan(backlog / 2);
    expect(latencyMs).toBeLessThan(10_000);
    // Nothing is lost: the backlog drains to the last job.
    const deadline = Date.now() + 100_000;
    let left = waiting;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const m = await call<{ depth: number; running: number; retrying: number }>("GET", "/v1/metrics", { token: key });
      left = m.body.depth + m.body.running + m.body.retrying;
    }
    expect(left).toBe(0);
  });
});
