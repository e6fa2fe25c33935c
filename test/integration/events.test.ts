// POST /v1/events: validation (nothing written on refusal), auth and tenant isolation, matching by name and key,
// waking (rows and messages), the lookback window, many waiters within the limits, and the tick's prune.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_EVENT_WAKES_PER_CALL } from "../../src/contract/events";
import type { JobMessage } from "../../src/contract/job";
import { PayloadTooLargeError, PayloadValidationError } from "../../src/core/enqueue-errors";
import { newId } from "../../src/core/ids";
import { createLogger } from "../../src/core/logger";
import { EVENT_LOOKBACK_MS, MAX_STEP_RESULT_BYTES } from "../../src/core/steps";
import {
  completeFromRecentEventStatement,
  EVENT_SQL,
  lookupRecentEventStatement,
  type RecentEventRow,
} from "../../src/db/event-statements";
import { guardD1, guardQueue, invocationBudget, LIMITS } from "../../src/limits";
import { meterD1 } from "../../src/metering/d1";
import { EVENT_PRUNE_MARGIN_MS, pruneEvents } from "../../src/scheduler/prune";
import { type EventDeps, eventDepsOf, sendEvent } from "../../src/service/events";
import { ADMIN_TOKEN, call, newTenant, waitForStatus } from "../fixtures/api";
import { tickAt } from "../fixtures/clock";

type Waiter = { event: string; key?: string; step?: string };
type Sent = { id: string; matched: number; more: boolean };
type StepRow = { jobId: string; status: string; result: string | null; finishedAt: number | null };
type JobState = {
  id: string;
  status: string;
  outbox: number;
  waitingFor: string | null;
  runAt: number;
  updatedAt: number;
};

const FAR = Date.now() + 86_400_000;

/** Parks `waiters` as the engine would: a `waiting` job (type test-echo) with one waiting event step each. */
async function park(tenant: string, waiters: Waiter[], startedAt = Date.now()): Promise<string[]> {
  const rows = waiters.map((w) => ({
    id: newId("job", startedAt),
    step: w.step ?? "wait",
    event: w.event,
    key: w.key ?? null,
    waitingFor: JSON.stringify({
      kind: "event",
      event: w.event,
      ...(w.key ? { key: w.key } : {}),
      until: new Date(FAR).toISOString(),
    }),
  }));
  const json = JSON.stringify(rows);
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO jobs (tenant_id, id, type, status, payload, max_attempts, options, run_at, created_at, updated_at, metadata, waiting_for)
       SELECT ?1, json_extract(value, '$.id'), 'test-echo', 'waiting', '{"value":"woken"}', 5, '{}', ?2, ?3, ?3, '{}',
         json_extract(value, '$.waitingFor') FROM json_each(?4)`,
    ).bind(tenant, FAR, startedAt, json),
    env.DB.prepare(
      `INSERT INTO job_steps (tenant_id, job_id, name, kind, status, started_at, wake_at, event_name, event_key)
       SELECT ?1, json_extract(value, '$.id'), json_extract(value, '$.step'), 'event', 'waiting', ?3, ?2,
         json_extract(value, '$.event'), json_extract(value, '$.key') FROM json_each(?4)`,
    ).bind(tenant, FAR, startedAt, json),
  ]);
  return rows.map((r) => r.id);
}

async function steps(tenant: string): Promise<Map<string, StepRow>> {
  const { results } = await env.DB.prepare(
    `SELECT job_id AS jobId, status, result, finished_at AS finishedAt FROM job_steps WHERE tenant_id = ?1`,
  )
    .bind(tenant)
    .all<StepRow>();
  return new Map(results.map((r) => [r.jobId, r]));
}

/** Every step row (a job may have several), unlike steps() which keys by job. */
async function steps2(tenant: string): Promise<StepRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT job_id AS jobId, status, result, finished_at AS finishedAt FROM job_steps WHERE tenant_id = ?1`,
  )
    .bind(tenant)
    .all<StepRow>();
  return results;
}

async function jobStates(tenant: string): Promise<Map<string, JobState>> {
  const { results } = await env.DB.prepare(
    `SELECT id, status, outbox, waiting_for AS waitingFor, run_at AS runAt, updated_at AS updatedAt FROM jobs WHERE tenant_id = ?1`,
  )
    .bind(tenant)
    .all<JobState>();
  return new Map(results.map((r) => [r.id, r]));
}

/** Everything a tenant has in the three tables an event touches, as one comparable value. */
async function snapshot(tenant: string) {
  const events = await env.DB.prepare(`SELECT count(*) AS n FROM events WHERE tenant_id = ?1`)
    .bind(tenant)
    .first<{ n: number }>();
  return {
    events: events?.n,
    steps: [...(await steps(tenant)).values()],
    jobs: [...(await jobStates(tenant)).values()],
  };
}

const post = (key: string | undefined, body: unknown, extra: Parameters<typeof call>[2] = {}) =>
  call<Sent & { error?: { code: string; issues?: { path: string }[] } }>("POST", "/v1/events", {
    ...(key ? { token: key } : {}),
    body,
    ...extra,
  });

/** A queue that keeps what it is sent (or refuses it), so a woken job's row can be read before any consumer runs it. */
function recordingQueue(fail = false) {
  const sent: JobMessage[] = [];
  const queue = {
    send: async (body: JobMessage) => {
      if (fail) throw new Error("queue down");
      sent.push(body);
    },
    sendBatch: async (messages: Iterable<MessageSendRequest<JobMessage>>) => {
      if (fail) throw new Error("queue down");
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue<JobMessage>;
  return { queue, sent };
}

const silent = createLogger();

function deps(tenant: string, parts: Partial<EventDeps> = {}): EventDeps {
  return { ...eventDepsOf(env, { tenant, log: silent }), queue: recordingQueue().queue, ...parts };
}

const lookup = (tenant: string, name: string, key: string | null, since: number) =>
  lookupRecentEventStatement(env.DB, tenant, name, key, since).first<RecentEventRow>();

describe("POST /v1/events: refusals write nothing", () => {
  it("answers the contract's error for every bad input and leaves events, steps and jobs as they were", async () => {
    const { tenant, key } = await newTenant("ev-val");
    await park(tenant, [{ event: "order.paid", key: "o-1" }, { event: "order.paid" }]);
    const before = await snapshot(tenant);
    const cases: {
      body?: unknown;
      raw?: { text: string; type?: string };
      status: number;
      code: string;
      path?: string;
    }[] = [
      { body: {}, status: 400, code: "invalid_request", path: "name" },
      { body: { name: "" }, status: 400, code: "invalid_request", path: "name" },
      { body: { name: "x".repeat(201) }, status: 400, code: "invalid_request", path: "name" },
      { body: { name: 42 }, status: 400, code: "invalid_request", path: "name" },
      { body: { name: null }, status: 400, code: "invalid_request", path: "name" },
      { body: { name: "order.paid", key: "" }, status: 400, code: "invalid_request", path: "key" },
      { body: { name: "order.paid", key: "k".repeat(201) }, status: 400, code: "invalid_request", path: "key" },
      { body: { name: "order.paid", key: 7 }, status: 400, code: "invalid_request", path: "key" },
      { body: { name: "order.paid", key: null }, status: 400, code: "invalid_request", path: "key" },
      { body: { name: "order.paid", extra: true }, status: 400, code: "invalid_request" },
      { body: ["order.paid"], status: 400, code: "invalid_request" },
      { body: "order.paid", status: 400, code: "invalid_request" },
      { raw: { text: "{not json", type: "application/json" }, status: 400, code: "invalid_request" },
      { raw: { text: '{"name":"order.paid"}' }, status: 415, code: "unsupported_media_type" },
      { raw: { text: '{"name":"order.paid"}', type: "text/plain" }, status: 415, code: "unsupported_media_type" },
      // data becomes every matched step's result: one byte over a step result's limit is refused whole.
      {
        body: { name: "order.paid", data: "x".repeat(MAX_STEP_RESULT_BYTES - 1) },
        status: 413,
        code: "payload_too_large",
      },
      { body: { name: "order.paid", data: { blob: "é".repeat(40_000) } }, status: 413, code: "payload_too_large" },
    ];
    for (const c of cases) {
      const res = c.raw
        ? await post(key, undefined, {
            rawBody: c.raw.text,
            headers: c.raw.type ? { "content-type": c.raw.type } : {},
          })
        : await post(key, c.body);
      const what = JSON.stringify(c.body ?? c.raw).slice(0, 80);
      expect(res.status, what).toBe(c.status);
      expect(res.body.error?.code, what).toBe(c.code);
      if (c.path)
        expect(
          res.body.error?.issues?.map((i) => i.path),
          what,
        ).toContain(c.path);
    }
    expect(await snapshot(tenant)).toEqual(before);

    // The limit is inclusive: data whose JSON is exactly the limit is accepted (and wakes the keyless waiter).
    const atLimit = await post(key, { name: "order.paid", data: "x".repeat(MAX_STEP_RESULT_BYTES - 2) });
    expect(atLimit.status).toBe(202);
    expect(atLimit.body).toMatchObject({ matched: 1, more: false });
  });
});

describe("sendEvent (the use case RPC calls too): data JSON cannot carry is refused before any write", () => {
  it("throws the contract's refusals for a BigInt, a function and oversized data, and writes nothing", async () => {
    const { tenant } = await newTenant("ev-rpc-val");
    await park(tenant, [{ event: "e" }]);
    const before = await snapshot(tenant);
    await expect(sendEvent({ name: "e", data: 10n }, deps(tenant))).rejects.toBeInstanceOf(PayloadValidationError);
    await expect(sendEvent({ name: "e", data: () => 1 }, deps(tenant))).rejects.toBeInstanceOf(PayloadValidationError);
    await expect(
      sendEvent({ name: "e", data: "x".repeat(100) }, deps(tenant, { dataLimitBytes: 50 })),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await snapshot(tenant)).toEqual(before);
    // The HTTP limit follows the deployment's payload limit when it is the smaller one.
    expect(eventDepsOf({ ...env, PAYLOAD_LIMIT_BYTES: "1000" }, { tenant, log: silent }).dataLimitBytes).toBe(1000);
    expect(eventDepsOf(env, { tenant, log: silent }).dataLimitBytes).toBe(MAX_STEP_RESULT_BYTES);
  });
});

describe("POST /v1/events: auth and tenants", () => {
  it("needs a tenant key (401 without, 403 with the admin token) and never wakes another tenant's waits", async () => {
    const owner = await newTenant("ev-owner");
    const other = await newTenant("ev-other");
    const [jobId] = await park(owner.tenant, [{ event: "shared.name", key: "same-key" }, { event: "shared.name" }]);
    const before = await snapshot(owner.tenant);

    const none = await post(undefined, { name: "shared.name", key: "same-key" });
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe("unauthorized");
    const admin = await post(ADMIN_TOKEN, { name: "shared.name", key: "same-key" });
    expect(admin.status).toBe(403);
    expect(admin.body.error?.code).toBe("forbidden");

    const foreign = await post(other.key, { name: "shared.name", key: "same-key", data: { from: "other" } });
    expect(foreign.status).toBe(202);
    expect(foreign.body).toMatchObject({ matched: 0, more: false });
    expect(await snapshot(owner.tenant)).toEqual(before);
    // The other tenant's event is not the owner's either at park time.
    expect(await lookup(owner.tenant, "shared.name", null, Date.now() - EVENT_LOOKBACK_MS)).toBeNull();
    expect(await lookup(other.tenant, "shared.name", "same-key", Date.now() - EVENT_LOOKBACK_MS)).toMatchObject({
      id: foreign.body.id,
    });
    expect((await jobStates(owner.tenant)).get(jobId as string)?.status).toBe("waiting");
  });
});

describe("POST /v1/events: matching", () => {
  it("a keyed event completes the waits on its key and the keyless ones, nothing else; the woken jobs run", async () => {
    const { tenant, key } = await newTenant("ev-match");
    const [onKey, onOtherKey, anyKey, otherName] = await park(tenant, [
      { event: "payment.captured", key: "order-1" },
      { event: "payment.captured", key: "order-2" },
      { event: "payment.captured" },
      { event: "payment.refunded", key: "order-1" },
    ]);
    const data = { amount: 4200, currency: "EUR", note: "ünïcode" };
    const res = await post(key, { name: "payment.captured", key: "order-1", data });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^evt_/), matched: 2, more: false });

    const rows = await steps(tenant);
    for (const id of [onKey, anyKey]) {
      expect(rows.get(id as string)).toMatchObject({ status: "succeeded", result: JSON.stringify(data) });
      expect(rows.get(id as string)?.finishedAt).toBeGreaterThan(0);
    }
    for (const id of [onOtherKey, otherName]) {
      expect(rows.get(id as string)).toMatchObject({ status: "waiting", result: null, finishedAt: null });
    }
    // The woken jobs' messages went out: the consumer runs them to the end; the others stay parked.
    for (const id of [onKey, anyKey]) {
      expect((await waitForStatus(key, id as string, ["succeeded", "dead"])).status).toBe("succeeded");
    }
    const jobs = await jobStates(tenant);
    expect(jobs.get(onOtherKey as string)?.status).toBe("waiting");
    expect(jobs.get(otherName as string)?.status).toBe("waiting");

    // The same event again finds nothing left on order-1 (a wait completes once).
    const again = await post(key, { name: "payment.captured", key: "order-1" });
    expect(again.body).toMatchObject({ matched: 0, more: false });
  });

  it("an event without a key completes only the waits that named no key; no data gives the result null", async () => {
    const { tenant, key } = await newTenant("ev-nokey");
    const [keyed, keyless] = await park(tenant, [{ event: "deploy.done", key: "eu" }, { event: "deploy.done" }]);
    const res = await post(key, { name: "deploy.done" });
    expect(res.body).toMatchObject({ matched: 1, more: false });
    const rows = await steps(tenant);
    expect(rows.get(keyless as string)).toMatchObject({ status: "succeeded", result: "null" });
    expect(rows.get(keyed as string)?.status).toBe("waiting");
  });

  it("wakes a job as the design says (queued now, outbox 1, waitingFor cleared) and sends exactly its message", async () => {
    const { tenant } = await newTenant("ev-rows");
    const [parked, running] = await park(tenant, [{ event: "e" }, { event: "e" }]);
    // A wait whose job is not parked (a re-run after its timeout, in flight) gets the data but its job is left alone.
    await env.DB.prepare(`UPDATE jobs SET status = 'running' WHERE tenant_id = ?1 AND id = ?2`)
      .bind(tenant, running)
      .run();
    const now = Date.now() + 5_000;
    const queue = recordingQueue();
    const sent = await sendEvent({ name: "e", data: [1, 2] }, deps(tenant, { now, queue: queue.queue }));
    expect(sent).toMatchObject({ matched: 2, more: false });
    expect(queue.sent).toEqual([{ tenant, id: parked }]);
    const jobs = await jobStates(tenant);
    expect(jobs.get(parked as string)).toMatchObject({
      status: "queued",
      outbox: 1,
      waitingFor: null,
      runAt: now,
      updatedAt: now,
    });
    expect(jobs.get(running as string)).toMatchObject({ status: "running", outbox: 0 });
    expect((await steps(tenant)).get(running as string)).toMatchObject({ status: "succeeded", result: "[1,2]" });
  });

  it("a failed send still answers and leaves the woken job queued with outbox 1 for the tick's rescue", async () => {
    const { tenant } = await newTenant("ev-sendfail");
    const [id] = await park(tenant, [{ event: "e", key: "k" }]);
    const sent = await sendEvent({ name: "e", key: "k" }, deps(tenant, { queue: recordingQueue(true).queue }));
    expect(sent.matched).toBe(1);
    expect((await jobStates(tenant)).get(id as string)).toMatchObject({ status: "queued", outbox: 1 });
  });
});

describe("the log line", () => {
  it("logs one 'event received' line per event with the matched count, never the data or the key", async () => {
    const { tenant } = await newTenant("ev-log");
    await park(tenant, [{ event: "card.charged", key: "secret-key-5" }]);
    const lines: { msg: string; fields: Record<string, unknown> }[] = [];
    const capture = {
      info: (msg: string, fields: Record<string, unknown> = {}) => lines.push({ msg, fields }),
      warn: (msg: string, fields: Record<string, unknown> = {}) => lines.push({ msg, fields }),
      error: (msg: string, fields: Record<string, unknown> = {}) => lines.push({ msg, fields }),
    };
    const logger = { ...capture, child: () => logger, withMetadata: () => logger };
    const sent = await sendEvent(
      { name: "card.charged", key: "secret-key-5", data: { pan: "4111-secret-data" } },
      deps(tenant, { log: logger }),
    );
    expect(lines).toEqual([
      {
        msg: "event received",
        fields: { eventId: sent.id, event: "card.charged", matched: 1, jobsWoken: 1, more: false },
      },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/secret/);
  });
});

describe("the lookback: an event is kept for waits that start just after it", () => {
  it("an event nobody waits for is stored and found by the park-time lookup within 60 s, not after", async () => {
    const { tenant, key } = await newTenant("ev-look");
    const res = await post(key, { name: "invoice.sent", key: "inv-9", data: { n: 9 } });
    expect(res.body).toMatchObject({ matched: 0, more: false });
    const now = Date.now();
    const found = await lookup(tenant, "invoice.sent", "inv-9", now - EVENT_LOOKBACK_MS);
    expect(found).toMatchObject({ id: res.body.id, data: '{"n":9}' });
    // A keyless wait takes any key; a wait on another key or another name does not match.
    expect(await lookup(tenant, "invoice.sent", null, now - EVENT_LOOKBACK_MS)).toMatchObject({ id: res.body.id });
    expect(await lookup(tenant, "invoice.sent", "inv-10", now - EVENT_LOOKBACK_MS)).toBeNull();
    expect(await lookup(tenant, "invoice.paid", "inv-9", now - EVENT_LOOKBACK_MS)).toBeNull();

    // With injected clocks: received at T, a wait starting at T + 59 s gets it, one at T + 61 s does not.
    const t = Date.now() + 3_600_000;
    const late = await sendEvent({ name: "late.one", data: "x" }, deps(tenant, { now: t }));
    expect(await lookup(tenant, "late.one", null, t + 59_000 - EVENT_LOOKBACK_MS)).toMatchObject({
      id: late.id,
      data: '"x"',
    });
    expect(await lookup(tenant, "late.one", null, t + 61_000 - EVENT_LOOKBACK_MS)).toBeNull();
    // An event without data is found with data null (the step's result is then null).
    const bare = await sendEvent({ name: "bare" }, deps(tenant, { now: t }));
    expect(await lookup(tenant, "bare", null, t - 1)).toEqual({ id: bare.id, data: null, receivedAt: t });
  });

  it("the lookup answers the first event of the window", async () => {
    const { tenant } = await newTenant("ev-first");
    const t = Date.now();
    const first = await sendEvent({ name: "tick", data: 1 }, deps(tenant, { now: t }));
    await sendEvent({ name: "tick", data: 2 }, deps(tenant, { now: t + 10 }));
    expect(await lookup(tenant, "tick", null, t - EVENT_LOOKBACK_MS)).toMatchObject({ id: first.id, data: "1" });
  });
});

describe("the park-time completion for the engine", () => {
  it("completes a wait that parks after a matching event within the window, once, and leaves the others", async () => {
    const { tenant } = await newTenant("ev-park");
    const t = Date.now();
    await sendEvent({ name: "shipped", key: "o-7", data: { carrier: "ups" } }, deps(tenant, { now: t }));
    const [late, otherKey, tooLate, keyless] = await park(
      tenant,
      [
        { event: "shipped", key: "o-7" },
        { event: "shipped", key: "o-8" },
        { event: "shipped", key: "o-7" },
        { event: "shipped" },
      ],
      t + 1_000,
    );
    const complete = (jobId: string | undefined, key: string | null, at: number) =>
      completeFromRecentEventStatement(env.DB, {
        tenant,
        jobId: jobId as string,
        step: "wait",
        event: "shipped",
        key,
        since: at - EVENT_LOOKBACK_MS,
        now: at,
      }).all<{ result: string }>();
    expect((await complete(late, "o-7", t + 59_000)).results).toEqual([{ result: '{"carrier":"ups"}' }]);
    expect((await complete(late, "o-7", t + 59_000)).results).toEqual([]);
    expect((await complete(otherKey, "o-8", t + 2_000)).results).toEqual([]);
    expect((await complete(tooLate, "o-7", t + 61_000)).results).toEqual([]);
    expect((await complete(keyless, null, t + 2_000)).results).toEqual([{ result: '{"carrier":"ups"}' }]);
    const rows = await steps(tenant);
    expect(rows.get(late as string)).toMatchObject({ status: "succeeded", finishedAt: t + 59_000 });
    expect(rows.get(otherKey as string)?.status).toBe("waiting");
    expect(rows.get(tooLate as string)?.status).toBe("waiting");
  });
});

describe("query plans", () => {
  it("every event statement reads through its index, never a tenant's whole primary key range", async () => {
    const plans: Record<string, string> = {};
    for (const [name, sql] of Object.entries(EVENT_SQL)) {
      const params = Math.max(...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...Array.from({ length: params }, () => null))
        .all<{ detail: string }>();
      plans[name] = results.map((r) => r.detail).join(" | ");
    }
    for (const name of ["wakeJobs", "wakeSteps", "more"]) {
      expect(plans[name], name).toContain("job_steps_waiting_events (tenant_id=? AND event_name=? AND event_key=?)");
    }
    expect(plans.lookupKeyed).toContain("events_recent (tenant_id=? AND name=? AND key=? AND received_at>?)");
    expect(plans.completeKeyed).toContain("events_recent (tenant_id=? AND name=? AND key=? AND received_at>?)");
    expect(plans.lookupAny).toContain("events_recent (tenant_id=? AND name=?)");
    expect(plans.completeAny).toContain("events_recent (tenant_id=? AND name=?)");
    for (const [name, plan] of Object.entries(plans)) {
      expect(plan, name).not.toMatch(/USING PRIMARY KEY \(tenant_id=\?\)/);
      if (name !== "prune") expect(plan, name).not.toMatch(/\bSCAN (events|job_steps|jobs)\b/);
    }
  });
});

describe("many waiters", () => {
  it("250 waits on one event are completed by one call over HTTP within the invocation's limits", async () => {
    const { tenant, key } = await newTenant("ev-many");
    const ids = await park(
      tenant,
      Array.from({ length: 250 }, (_, i) => ({ event: "flash.sale", key: i % 2 ? "eu" : undefined })),
    );
    await park(tenant, [{ event: "flash.sale", key: "us" }]);
    const res = await post(key, { name: "flash.sale", key: "eu", data: { pct: 20 } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ matched: 250, more: false });
    const rows = await steps(tenant);
    expect(ids.every((id) => rows.get(id)?.status === "succeeded")).toBe(true);
    expect([...rows.values()].filter((r) => r.status === "waiting")).toHaveLength(1);
  });

  it("pages through the waits in bounded statements and stops at the cap with more: true; sending again completes the rest", async () => {
    const { tenant } = await newTenant("ev-pages");
    const ids = await park(
      tenant,
      Array.from({ length: 5 }, () => ({ event: "p" })),
    );
    // One job waits twice on the same event (two waits in parallel): 6 waits, 5 jobs.
    await env.DB.prepare(
      `INSERT INTO job_steps (tenant_id, job_id, name, kind, status, started_at, wake_at, event_name)
       VALUES (?1, ?2, 'second-wait', 'event', 'waiting', ?3, ?3, 'p')`,
    )
      .bind(tenant, ids[1], FAR)
      .run();
    const queue = recordingQueue();
    const first = await sendEvent({ name: "p" }, deps(tenant, { pageSize: 2, maxWakes: 5, queue: queue.queue }));
    expect(first).toMatchObject({ matched: 5, more: true });
    expect([...(await steps2(tenant))].filter((r) => r.status === "waiting")).toHaveLength(1);
    const second = await sendEvent({ name: "p" }, deps(tenant, { pageSize: 2, maxWakes: 5, queue: queue.queue }));
    expect(second).toMatchObject({ matched: 1, more: false });
    expect((await steps2(tenant)).every((r) => r.status === "succeeded")).toBe(true);
    // Every job woken once and sent once, whichever call completed its second wait.
    expect(queue.sent.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect([...(await jobStates(tenant)).values()].every((j) => j.status === "queued")).toBe(true);
  });

  it("over pages that mix keyless and keyed waits, a job is woken exactly when one of its waits was completed", async () => {
    const { tenant } = await newTenant("ev-prop");
    // 12 jobs with 1…3 waits each on "mix", keyless or on key "k" (or on "other", which must stay open).
    const ids = await park(
      tenant,
      Array.from({ length: 12 }, (_, i) => ({ event: "mix", key: i % 3 === 0 ? "k" : undefined })),
    );
    const extra = ids.flatMap((id, i) =>
      Array.from({ length: i % 3 }, (_, j) => ({ id, step: `w${j}`, key: [null, "k", "other"][(i + j) % 3] })),
    );
    await env.DB.prepare(
      `INSERT INTO job_steps (tenant_id, job_id, name, kind, status, started_at, wake_at, event_name, event_key)
       SELECT ?1, json_extract(value, '$.id'), json_extract(value, '$.step'), 'event', 'waiting', ?2, ?2, 'mix',
         json_extract(value, '$.key') FROM json_each(?3)`,
    )
      .bind(tenant, FAR, JSON.stringify(extra))
      .run();
    const open = async () => (await steps2(tenant)).filter((r) => r.status === "waiting").length;
    const expected = (await open()) - extra.filter((e) => e.key === "other").length;
    let matched = 0;
    for (let call = 0; call < 10; call++) {
      const sent = await sendEvent({ name: "mix", key: "k" }, deps(tenant, { pageSize: 3, maxWakes: 7 }));
      matched += sent.matched;
      const done = new Set((await steps2(tenant)).filter((r) => r.status === "succeeded").map((r) => r.jobId));
      for (const job of (await jobStates(tenant)).values()) {
        // Woken (queued) if and only if a wait of it was completed: the two statements of a page picked the same waits.
        expect(job.status, job.id).toBe(done.has(job.id) ? "queued" : "waiting");
      }
      if (!sent.more) break;
    }
    expect(matched).toBe(expected);
    expect(await open()).toBe(extra.filter((e) => e.key === "other").length);
  });

  it(`the default cap (${MAX_EVENT_WAKES_PER_CALL}) fits the Free plan's 50 queries and 50 subrequests`, async () => {
    const { tenant } = await newTenant("ev-cap");
    const n = MAX_EVENT_WAKES_PER_CALL + 1;
    for (let i = 0; i < n; i += 500)
      await park(
        tenant,
        Array.from({ length: Math.min(500, n - i) }, () => ({ event: "all" })),
      );
    const budget = invocationBudget(LIMITS.free);
    const queue = recordingQueue();
    const sent = await sendEvent(
      { name: "all", data: { ok: true } },
      deps(tenant, { d1: guardD1(env.DB, budget), queue: guardQueue(queue.queue, budget) }),
    );
    expect(sent).toMatchObject({ matched: MAX_EVENT_WAKES_PER_CALL, more: true });
    expect(queue.sent).toHaveLength(MAX_EVENT_WAKES_PER_CALL);
    expect(budget.used.queries).toBeLessThanOrEqual(10);
    expect(budget.used.subrequests).toBe(MAX_EVENT_WAKES_PER_CALL / 100);
    const rest = await sendEvent({ name: "all" }, deps(tenant));
    expect(rest).toMatchObject({ matched: 1, more: false });
  });

  it("measures rows written: per event, and per wait completed", async () => {
    const { tenant } = await newTenant("ev-rows-written");
    const written = async (name: string) => {
      const metered = meterD1(env.DB);
      await sendEvent({ name, data: { x: 1 } }, deps(tenant, { d1: metered.d1 }));
      return metered.usage.rowsWritten;
    };
    const alone = await written("nobody");
    await park(tenant, [{ event: "one" }]);
    const one = await written("one");
    await park(
      tenant,
      Array.from({ length: 100 }, () => ({ event: "hundred" })),
    );
    const hundred = await written("hundred");
    // Waits on 200 other keys of the same name are never read: the keyed arm is an equality probe of the index.
    await park(
      tenant,
      Array.from({ length: 200 }, (_, i) => ({ event: "crowded", key: `other-${i}` })),
    );
    await park(tenant, [{ event: "crowded", key: "mine" }]);
    const metered = meterD1(env.DB);
    const crowded = await sendEvent({ name: "crowded", key: "mine" }, deps(tenant, { d1: metered.d1 }));
    expect(crowded.matched).toBe(1);
    console.log(
      JSON.stringify({
        rowsPerEvent: alone,
        rowsOneWaiter: one,
        perWaiter: (hundred - alone) / 100,
        crowdedRead: metered.usage.rowsRead,
      }),
    );
    expect(metered.usage.rowsRead).toBeLessThan(20);
    expect(alone).toBeLessThanOrEqual(2);
    expect((hundred - alone) / 100).toBeLessThanOrEqual(8);
  });
});

describe("the tick prunes events", () => {
  it("a tick removes an event older than the lookback and its margin, and keeps a fresh one", async () => {
    const { tenant } = await newTenant("ev-tick");
    const now = Date.now();
    const old = await sendEvent(
      { name: "stale" },
      deps(tenant, { now: now - EVENT_LOOKBACK_MS - EVENT_PRUNE_MARGIN_MS - 60_000 }),
    );
    const fresh = await sendEvent({ name: "fresh" }, deps(tenant, { now: now - 10_000 }));
    await tickAt(now);
    const { results } = await env.DB.prepare(`SELECT id FROM events WHERE tenant_id = ?1`)
      .bind(tenant)
      .all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual([fresh.id]);
    expect(old.id).not.toBe(fresh.id);
  });

  it("deletes events past the lookback (plus margin) and keeps recent ones", async () => {
    const { tenant } = await newTenant("ev-prune");
    const now = Date.now() + 7_200_000;
    const old = await sendEvent(
      { name: "old" },
      deps(tenant, { now: now - EVENT_LOOKBACK_MS - EVENT_PRUNE_MARGIN_MS - 1 }),
    );
    const edge = await sendEvent(
      { name: "edge" },
      deps(tenant, { now: now - EVENT_LOOKBACK_MS - EVENT_PRUNE_MARGIN_MS }),
    );
    const recent = await sendEvent({ name: "recent" }, deps(tenant, { now: now - 1_000 }));
    const deleted = await pruneEvents(env.DB, now);
    expect(deleted).toBeGreaterThanOrEqual(1);
    const { results } = await env.DB.prepare(`SELECT id FROM events WHERE tenant_id = ?1`)
      .bind(tenant)
      .all<{ id: string }>();
    expect(new Set(results.map((r) => r.id))).toEqual(new Set([edge.id, recent.id]));
    expect(results.some((r) => r.id === old.id)).toBe(false);
  });
});
