// Issue #17 on a real `wrangler dev` with 3 local shards (DB, JOBS_DB_1, JOBS_DB_2): 3 tenants land on 3 shards,
// each runs the whole API, a workflow, a schedule fired by the cron tick and the dashboard, and afterwards every
// shard's tables hold only the rows of the tenants placed on it (the control tables only in DB).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import type { Schedule } from "../../src/contract/schemas";
import { type DevServer, startDev, waitForJob } from "./harness";
import { startLocalServer } from "./local-server";

type Tenant = { name: string; key: string; shard: string; index: number; ids: Set<string>; succeeded: Set<string> };
type Batch = { id: string; status: string; total: number; succeeded: number; jobs: Job[] };
type Metrics = { byType: Record<string, { dead: number; scheduled: number; window: { succeeded: number } }> };

const NAMES = ["shard-a", "shard-b", "shard-c"];
/** Control tables: only the control database (DB) may hold their rows. */
const CONTROL = ["api_keys", "dashboard_sessions", "tenant_shards"];

let dev: DevServer;
let target: Awaited<ReturnType<typeof startLocalServer>>;
const tenants: Tenant[] = [];
/** Tenants whose /flaky/<tenant> endpoint has been fixed: until then it answers 400, which sends an http job to dead. */
const fixed = new Set<string>();

beforeAll(async () => {
  target = await startLocalServer((req, res) => {
    const flaky = /^\/flaky\/(.+)$/.exec(req.path);
    res.statusCode = flaky && !fixed.has(flaky[1] ?? "") ? 400 : 200;
    res.setHeader("content-type", "application/json");
    res.end(res.statusCode === 200 ? '{"ok":true}' : '{"ok":false}');
  });
  // fulfill-order's steps call ORDER_API_URL: the same local server answers them.
  dev = await startDev({ shards: 3, vars: { ORDER_API_URL: target.url } });
  // One after another: a tenant is placed when first resolved, on the shard with the fewest tenants.
  for (const [index, name] of NAMES.entries()) {
    const key = await dev.newKey(name);
    expect((await dev.call("GET", "/v1/jobs?limit=1", { token: key })).status).toBe(200);
    tenants.push({ name, key, shard: "", index, ids: new Set(), succeeded: new Set() });
  }
});

afterAll(async () => {
  await dev?.stop();
  await target?.close();
});

async function enqueue(t: Tenant, body: Record<string, unknown>): Promise<Job> {
  const res = await dev.call<Job>("POST", "/v1/jobs", { token: t.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  t.ids.add(res.body.id);
  return res.body;
}

const httpJob = (path: string) => ({ type: "http", payload: { url: `${target.url}${path}`, method: "GET" } });

/** Polls `read` until `done` holds, for at most `timeoutMs`. */
async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} never happened; last ${JSON.stringify(last)}`);
}

const eachTenant = (run: (t: Tenant) => Promise<void>) => Promise.all(tenants.map(run));

describe("3 tenants on 3 local shards", () => {
  it("places the 3 tenants on the 3 shards, recorded in DB's tenant_shards", async () => {
    expect(dev.shards).toEqual(["DB", "JOBS_DB_1", "JOBS_DB_2"]);
    const rows = await dev.d1<{ tenant_id: string; shard: string }>("DB", "SELECT tenant_id, shard FROM tenant_shards");
    const placed = new Map(rows.map((r) => [r.tenant_id, r.shard]));
    for (const t of tenants) t.shard = placed.get(t.name) ?? "";
    expect(tenants.map((t) => t.shard).sort()).toEqual([...dev.shards].sort());
    // Fewest tenants, ties in list order: one after another they fill DB, JOBS_DB_1, JOBS_DB_2.
    expect(tenants.map((t) => t.shard)).toEqual(dev.shards);
  });

  it("enqueues single and batched jobs, runs them, lists and reads them, and cancels a delayed one", async () => {
    await eachTenant(async (t) => {
      const single = await enqueue(t, httpJob(`/ok/${t.name}`));
      // A different number of jobs per tenant, so each tenant's counts below are its own.
      const batch = await dev.call<{ jobs: Job[] }>("POST", "/v1/jobs/batch", {
        token: t.key,
        body: { jobs: Array.from({ length: 2 + t.index }, () => httpJob(`/ok/${t.name}`)) },
      });
      expect(batch.status, JSON.stringify(batch.body)).toBe(202);
      expect(batch.body.jobs).toHaveLength(2 + t.index);
      for (const job of batch.body.jobs) t.ids.add(job.id);
      for (const id of [single.id, ...batch.body.jobs.map((j) => j.id)]) {
        expect((await waitForJob<Job>(dev, t.key, id, ["succeeded", "dead"])).status).toBe("succeeded");
        t.succeeded.add(id);
      }

      // Past the queue's longest delay (12 h), so the job waits in D1 as scheduled.
      const delayed = await enqueue(t, { type: "cleanup-expired-sessions", delaySeconds: 3 * 86_400 });
      expect(delayed.status).toBe("scheduled");
      const cancelled = await dev.call<Job>("POST", `/v1/jobs/${delayed.id}/cancel`, { token: t.key });
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
      expect(cancelled.body.status).toBe("cancelled");

      const list = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: t.key });
      expect(list.status).toBe(200);
      expect(new Set(list.body.data.map((j) => j.id))).toEqual(t.ids);
      const one = await dev.call<Job>("GET", `/v1/jobs/${single.id}`, { token: t.key });
      expect(one.body).toMatchObject({ id: single.id, status: "succeeded" });
    });
    // Another tenant's job is not found, whichever shard it is on.
    const [a, b] = tenants as [Tenant, Tenant];
    const foreign = [...b.ids][0] ?? "";
    expect((await dev.call("GET", `/v1/jobs/${foreign}`, { token: a.key })).status).toBe(404);
  });

  it("sends a failing job to dead and retries it to succeeded", async () => {
    await eachTenant(async (t) => {
      const job = await enqueue(t, httpJob(`/flaky/${t.name}`));
      expect((await waitForJob<Job>(dev, t.key, job.id, ["succeeded", "dead"])).status).toBe("dead");
      const dead = await dev.call<{ data: Job[] }>("GET", "/v1/dead", { token: t.key });
      expect(dead.body.data.map((j) => j.id)).toEqual([job.id]);
      fixed.add(t.name);
      const retried = await dev.call<Job>("POST", `/v1/jobs/${job.id}/retry`, { token: t.key });
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect((await waitForJob<Job>(dev, t.key, job.id, ["succeeded", "dead"])).status).toBe("succeeded");
      t.succeeded.add(job.id);
    });
  });

  it("runs the fulfill-order workflow through its event wait and sleep to succeeded", async () => {
    await eachTenant(async (t) => {
      const orderId = `o-${t.name}`;
      const wf = await enqueue(t, { type: "fulfill-order", payload: { orderId, followUpDelaySeconds: 1 } });
      const get = () => dev.call<Job>("GET", `/v1/jobs/${wf.id}`, { token: t.key }).then((r) => r.body);
      await until(`${t.name}'s workflow parking`, get, (j) => j.status === "waiting");
      const sent = await dev.call<{ matched: number }>("POST", "/v1/events", {
        token: t.key,
        body: { name: "payment.captured", key: orderId, data: { amountCents: 100 } },
      });
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
      expect(sent.body.matched).toBe(1);
      const done = await until(`${t.name}'s workflow finishing`, get, (j) => ["succeeded", "dead"].includes(j.status));
      expect(done).toMatchObject({ status: "succeeded", result: { orderId, status: "fulfilled" } });
    });
  });

  it("fires each tenant's schedule from one cron tick, through each shard's maintenance message", async () => {
    const schedules = await Promise.all(
      tenants.map(async (t) => {
        const res = await dev.call<Schedule>("POST", "/v1/schedules", {
          token: t.key,
          body: { name: `tick-${t.name}`, cron: "* * * * *", type: "cleanup-expired-sessions" },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body;
      }),
    );
    const fireAt = Math.max(...schedules.map((s) => Date.parse(s.nextRunAt ?? "")));
    const tick = await fetch(`${dev.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=${fireAt}`);
    expect(tick.status).toBe(200);
    await eachTenant(async (t) => {
      const schedule = schedules[t.index] as Schedule;
      // With several shards the tick only sends one message per shard: the fire happens in the consumer, so poll.
      const fired = await until(
        `${t.name}'s schedule firing`,
        () => dev.call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: t.key }).then((r) => r.body.data),
        (jobs) => jobs.some((j) => j.metadata.scheduleId === schedule.id),
      );
      const job = fired.find((j) => j.metadata.scheduleId === schedule.id) as Job;
      t.ids.add(job.id);
      expect((await waitForJob<Job>(dev, t.key, job.id, ["succeeded", "dead"])).status).toBe("succeeded");
      const after = await dev.call<Schedule>("GET", `/v1/schedules/${schedule.id}`, { token: t.key });
      expect(after.body.lastRunAt).toBe(new Date(fireAt).toISOString());
    });
  });

  it("runs a batch (/v1/batches) to succeeded", async () => {
    await eachTenant(async (t) => {
      const created = await dev.call<Batch>("POST", "/v1/batches", {
        token: t.key,
        body: { jobs: [httpJob(`/ok/${t.name}`), httpJob(`/ok/${t.name}`)], description: t.name },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(202);
      for (const job of created.body.jobs) t.ids.add(job.id);
      const done = await until(
        `${t.name}'s batch finishing`,
        () => dev.call<Batch>("GET", `/v1/batches/${created.body.id}`, { token: t.key }).then((r) => r.body),
        (b) => b.status !== "running" && b.status !== "open",
      );
      expect(done).toMatchObject({ status: "succeeded", total: 2, succeeded: 2 });
      for (const job of created.body.jobs) t.succeeded.add(job.id);
    });
  });

  it("debounces a burst into one job in the tenant's shard (the KeyGate writes it there)", async () => {
    await eachTenant(async (t) => {
      const body = { type: "cleanup-expired-sessions", debounce: { key: `burst-${t.name}`, seconds: 1 } };
      const first = await dev.call<Job>("POST", "/v1/jobs", { token: t.key, body });
      expect(first.status, JSON.stringify(first.body)).toBe(202);
      const second = await dev.call<Job>("POST", "/v1/jobs", { token: t.key, body });
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(second.body.id).toBe(first.body.id);
      t.ids.add(first.body.id);
      expect((await waitForJob<Job>(dev, t.key, first.body.id, ["succeeded", "dead"])).status).toBe("succeeded");
      const rows = await dev.d1(t.shard, `SELECT count(*) AS n FROM jobs WHERE id = '${first.body.id}'`);
      expect(rows).toEqual([{ n: 1 }]);
    });
  });

  it("reports each tenant's own counts in /v1/metrics", async () => {
    await eachTenant(async (t) => {
      const httpSucceeded = t.succeeded.size;
      const metrics = await until(
        `${t.name}'s metrics`,
        () => dev.call<Metrics>("GET", "/v1/metrics", { token: t.key }).then((r) => r.body),
        (m) => m.byType.http?.window.succeeded === httpSucceeded,
        10_000,
      );
      // 1 single + (2 + index) batched + 1 retried + 2 in the batch: the tenants differ, so a mix-up would show.
      expect(httpSucceeded).toBe(6 + t.index);
      expect(metrics.byType.http).toMatchObject({ dead: 0 });
      expect(Object.keys(metrics.byType).sort()).toEqual(["cleanup-expired-sessions", "fulfill-order", "http"]);
    });
  });

  it("signs each tenant in to the dashboard, which shows that tenant's jobs only", async () => {
    await eachTenant(async (t) => {
      const login = await fetch(`${dev.url}/dashboard/login`, {
        method: "POST",
        headers: { origin: dev.url, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ key: t.key }),
        redirect: "manual",
      });
      expect(login.status).toBe(303);
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      expect(cookie).toMatch(/^edge_jobs_session=/);
      const page = async (path: string) => {
        const res = await fetch(`${dev.url}${path}`, { headers: { cookie }, redirect: "manual" });
        expect(res.status, path).toBe(200);
        return res.text();
      };
      expect(await page("/dashboard")).toContain(t.name);
      const jobsPage = await page("/dashboard/jobs?status=succeeded");
      for (const id of t.succeeded) expect(jobsPage).toContain(id);
      for (const other of tenants.filter((o) => o !== t))
        for (const id of other.ids) expect(jobsPage).not.toContain(id);
      const detail = await page(`/dashboard/jobs/${[...t.succeeded][0]}`);
      expect(detail).toContain("succeeded");
    });
  });

  it("keeps every tenant's rows in its own shard and the control tables in DB only", async () => {
    // Every table with a tenant_id column (the same migrations run on every shard). Each wrangler d1 call starts
    // wrangler (~4 s), so this asks once for the tables and once per shard for all its rows.
    const tables = (
      await dev.d1<{ name: string }>(
        "DB",
        "SELECT m.name AS name FROM sqlite_master m JOIN pragma_table_info(m.name) p ON p.name = 'tenant_id' WHERE m.type = 'table' ORDER BY m.name",
      )
    ).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(["jobs", "schedules", "batches", "job_steps", "events", ...CONTROL]));
    const perTable = tables.map((t) => `SELECT '${t}' AS tbl, tenant_id, NULL AS id FROM ${t} GROUP BY tenant_id`);
    const sql = [...perTable, "SELECT 'job' AS tbl, tenant_id, id FROM jobs"].join("; ");
    for (const shard of dev.shards) {
      const rows = await dev.d1<{ tbl: string; tenant_id: string; id: string | null }>(shard, sql);
      const own = tenants.filter((t) => t.shard === shard).map((t) => t.name);
      const tenantsOf = (table: string) =>
        [...new Set(rows.filter((r) => r.tbl === table).map((r) => r.tenant_id))].sort();
      for (const table of tables) {
        if (CONTROL.includes(table)) {
          expect(tenantsOf(table), `${shard}.${table}`).toEqual(shard === "DB" ? [...NAMES].sort() : []);
        } else {
          expect(own, `${shard}.${table} holds another shard's tenant`).toEqual(
            expect.arrayContaining(tenantsOf(table)),
          );
        }
      }
      // Each tenant placed here has its rows here: jobs, steps, events, schedules, batches.
      for (const table of ["jobs", "schedules", "batches", "job_steps", "events"])
        expect(tenantsOf(table), `${shard}.${table}`).toEqual(own.sort());
      for (const t of tenants.filter((t) => t.shard === shard)) {
        const ids = rows.filter((r) => r.tbl === "job" && r.tenant_id === t.name).map((r) => r.id);
        expect(new Set(ids), `${t.name}'s jobs in ${shard}`).toEqual(t.ids);
      }
    }
  });
});
