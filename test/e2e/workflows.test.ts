// The fulfill-order workflow on a real `wrangler dev`: it parks for its payment event, wakes on POST /v1/events,
// sleeps, and succeeds with all five steps; each step reaches the order API exactly once.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDev } from "./harness";
import { startLocalServer } from "./local-server";

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
type WaitingFor = { kind: string; event?: string; key?: string; until?: string; jobIds?: string[] };
type Job = {
  id: string;
  type: string;
  status: string;
  attempts: number;
  result: unknown;
  queue: string;
  parentId: string | null;
  waitingFor: WaitingFor | null;
  steps: Step[];
};

const STEPS = ["reserve-stock", "payment", "notify-warehouse", "follow-up", "send-follow-up"];
const CALLS = ["/reserve-stock", "/notify-warehouse", "/send-follow-up"];

describe("the fulfill-order workflow on wrangler dev", () => {
  let dev: DevServer;
  let orderApi: Awaited<ReturnType<typeof startLocalServer>>;
  let key: string;

  beforeAll(async () => {
    orderApi = await startLocalServer((_req, res) => res.end('{"ok":true}'));
    dev = await startDev({ vars: { ORDER_API_URL: orderApi.url } });
    key = await dev.newKey("workflows");
  });

  afterAll(async () => {
    await dev?.stop();
    await orderApi?.close();
  });

  const get = async (id: string) => {
    const res = await dev.call<Job>("GET", `/v1/jobs/${id}`, { token: key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  /** Polls the job until `done` holds; answers every distinct state seen on the way (status + what it waits for). */
  async function until(id: string, done: (job: Job) => boolean, timeoutMs = 45_000) {
    const seen: string[] = [];
    const deadline = Date.now() + timeoutMs;
    let last: Job | undefined;
    while (Date.now() < deadline) {
      last = await get(id);
      const state = last.waitingFor ? `${last.status}:${last.waitingFor.kind}` : last.status;
      if (seen.at(-1) !== state) seen.push(state);
      if (done(last)) return { job: last, seen };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${id} never got there; states seen ${seen.join(" → ")}; last ${JSON.stringify(last)}`);
  }

  const enqueue = async (body: Record<string, unknown>) => {
    const res = await dev.call<Job>("POST", "/v1/jobs", { token: key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body;
  };

  const sendEvent = async (body: Record<string, unknown>) => {
    const res = await dev.call<{ id: string; matched: number }>("POST", "/v1/events", { token: key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body;
  };

  /** What the order API received for this order, as [path, count]. */
  const callsFor = (orderId: string) => {
    const counts = new Map<string, number>();
    for (const r of orderApi.received) {
      if ((JSON.parse(r.body) as { orderId?: string }).orderId !== orderId) continue;
      counts.set(r.path, (counts.get(r.path) ?? 0) + 1);
    }
    return [...counts].sort();
  };

  function expectFulfilled(job: Job, orderId: string, payment: unknown, followUpDelaySeconds: number) {
    expect(job).toMatchObject({
      status: "succeeded",
      result: { orderId, status: "fulfilled" },
      waitingFor: null,
      queue: "default",
    });
    expect(job.steps.map((s) => [s.name, s.status])).toEqual(STEPS.map((name) => [name, "succeeded"]));
    expect(job.steps.map((s) => s.kind)).toEqual(["run", "event", "run", "sleep", "run"]);
    const byName = new Map(job.steps.map((s) => [s.name, s]));
    expect(byName.get("payment")?.result).toEqual(payment);
    const sleep = byName.get("follow-up") as Step;
    const slept = Date.parse(sleep.finishedAt as string) - Date.parse(sleep.startedAt);
    expect(slept).toBeGreaterThanOrEqual(followUpDelaySeconds * 1000);
    // Parking never spent an attempt: the whole workflow took one.
    expect(job.attempts).toBe(1);
    expect(callsFor(orderId)).toEqual(CALLS.map((path) => [path, 1]).sort());
  }

  it("waits for its payment event, wakes on POST /v1/events, sleeps, and succeeds with five steps", async () => {
    const orderId = `o-${randomUUID()}`;
    const created = await enqueue({ type: "fulfill-order", payload: { orderId, followUpDelaySeconds: 3 } });
    expect(created).toMatchObject({ status: "queued", queue: "default", parentId: null, waitingFor: null });

    // Parked on the event: reserve-stock is done, the wait is open, nothing else has run.
    const parked = await until(created.id, (j) => j.status === "waiting");
    expect(parked.job.waitingFor).toMatchObject({ kind: "event", event: "payment.captured", key: orderId });
    expect(Date.parse(parked.job.waitingFor?.until ?? "")).toBeGreaterThan(Date.now() + 86_000_000);
    expect(parked.job.steps.map((s) => [s.name, s.kind, s.status])).toEqual([
      ["reserve-stock", "run", "succeeded"],
      ["payment", "event", "waiting"],
    ]);
    expect(callsFor(orderId)).toEqual([["/reserve-stock", 1]]);
    const listed = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?status=waiting&type=fulfill-order", {
      token: key,
    });
    expect(listed.body.data.map((j) => j.id)).toContain(created.id);

    // Another order's event, or another name, wakes nothing.
    expect(await sendEvent({ name: "payment.captured", key: `${orderId}-other` })).toMatchObject({ matched: 0 });
    expect(await sendEvent({ name: "payment.refunded", key: orderId })).toMatchObject({ matched: 0 });
    expect((await get(created.id)).status).toBe("waiting");

    const payment = { amountCents: 2500, provider: "test" };
    expect(await sendEvent({ name: "payment.captured", key: orderId, data: payment })).toMatchObject({ matched: 1 });

    const done = await until(created.id, (j) => j.status === "succeeded" || j.status === "dead");
    // It slept on the way: parked a second time, on the follow-up sleep.
    expect(done.seen).toContain("waiting:sleep");
    expectFulfilled(done.job, orderId, payment, 3);
    const warehouse = orderApi.received.find(
      (r) => r.path === "/notify-warehouse" && JSON.parse(r.body).orderId === orderId,
    );
    expect(JSON.parse(warehouse?.body ?? "{}")).toMatchObject({ payment });
  });

  it("still gets an event sent 5 s before the workflow reached its wait", async () => {
    const orderId = `o-${randomUUID()}`;
    const payment = { amountCents: 990 };
    // Nobody waits yet: the event is kept for the lookback window.
    expect(await sendEvent({ name: "payment.captured", key: orderId, data: payment })).toMatchObject({ matched: 0 });
    const sentAt = Date.now();
    await new Promise((r) => setTimeout(r, 5_000));
    const created = await enqueue({ type: "fulfill-order", payload: { orderId, followUpDelaySeconds: 1 } });
    const done = await until(created.id, (j) => j.status === "succeeded" || j.status === "dead");
    // It never parked on the event (the wait found it), only on the sleep.
    expect(done.seen).not.toContain("waiting:event");
    expectFulfilled(done.job, orderId, payment, 1);
    const wait = done.job.steps.find((s) => s.name === "payment") as Step;
    expect(Date.parse(wait.startedAt) - sentAt).toBeGreaterThanOrEqual(5_000);
  });

  it("cancels a parked workflow: the event then wakes nothing and no later step runs", async () => {
    const orderId = `o-${randomUUID()}`;
    const created = await enqueue({ type: "fulfill-order", payload: { orderId } });
    await until(created.id, (j) => j.status === "waiting");
    const cancelled = await dev.call<Job>("POST", `/v1/jobs/${created.id}/cancel`, { token: key });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.status).toBe("cancelled");
    await sendEvent({ name: "payment.captured", key: orderId });
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await get(created.id)).status).toBe("cancelled");
    expect(callsFor(orderId)).toEqual([["/reserve-stock", 1]]);
  });
});
