import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDev } from "./harness";
import { startLocalServer } from "./local-server";

const CHECKOUT = "examples/checkout/wrangler.toml";
const BOTH_DATABASES = [
  { binding: "DB", config: "wrangler.toml" },
  { binding: "ORDERS_DB", config: CHECKOUT },
];

type Placed = {
  orderId: string;
  status: string;
  totalCents: number;
  jobs: { confirmation: string; sideEffects: string } | null;
};
type FollowUp = { id: string; type: string; status: string; attempts: number };
type OrderView = { id: string; status: string; totalCents: number; followUps: FollowUp[] };

const order = { userId: "u-42", items: [{ sku: "mug", quantity: 2, priceCents: 1250 }] };

/** Polls the checkout's own order view until every follow-up job has finished. */
async function waitForFollowUps(dev: DevServer, orderId: string, count: number): Promise<OrderView> {
  const deadline = Date.now() + 45_000;
  let last: OrderView | undefined;
  while (Date.now() < deadline) {
    const res = await dev.call<OrderView>("GET", `/orders/${orderId}`);
    expect(res.status).toBe(200);
    last = res.body;
    const finished = last.followUps.filter((j) => ["succeeded", "dead", "cancelled"].includes(j.status));
    if (last.followUps.length === count && finished.length === count) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the follow-ups of ${orderId} did not finish: ${JSON.stringify(last)}`);
}

/** A private dev registry, so no other wrangler session on this machine answers for "edge-jobs". */
function privateRegistry() {
  const path = mkdtempSync(join(tmpdir(), "edge-jobs-registry-"));
  return { env: { WRANGLER_REGISTRY_PATH: path }, remove: () => rmSync(path, { recursive: true, force: true }) };
}

describe("the checkout example beside Edge Jobs in one wrangler dev", () => {
  let dev: DevServer;
  let orderApi: Awaited<ReturnType<typeof startLocalServer>>;
  const registry = privateRegistry();
  let failSideEffects = false;
  const confirmationAnsweredAt: number[] = [];

  beforeAll(async () => {
    orderApi = await startLocalServer((req, res) => {
      if (req.path === "/send-order-confirmation") {
        // A slow mail provider: the order's answer must never wait for it.
        setTimeout(() => {
          confirmationAnsweredAt.push(Date.now());
          res.end('{"sent":true}');
        }, 1500);
        return;
      }
      if (req.path === "/sync-order-side-effects" && failSideEffects) {
        res.statusCode = 400; // not retryable: the job goes dead at once
        res.end("warehouse rejected the order");
        return;
      }
      res.end('{"ok":true}');
    });
    dev = await startDev({
      config: [CHECKOUT, "wrangler.toml"],
      migrate: BOTH_DATABASES,
      vars: { ORDER_API_URL: orderApi.url },
      env: registry.env,
    });
  });

  afterAll(async () => {
    await dev?.stop();
    await orderApi?.close();
    registry.remove();
  });

  it("answers 201 before the slow confirmation is sent, then both follow-up jobs succeed", async () => {
    const res = await dev.call<Placed>("POST", "/orders", { body: order });
    const answeredAt = Date.now();
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "confirmed", totalCents: 2500 });
    const jobs = res.body.jobs;
    expect(jobs).not.toBeNull();

    const view = await waitForFollowUps(dev, res.body.orderId, 2);
    expect(view.followUps).toEqual([
      { id: jobs?.confirmation, type: "send-order-confirmation", status: "succeeded", attempts: 1 },
      { id: jobs?.sideEffects, type: "sync-order-side-effects", status: "succeeded", attempts: 1 },
    ]);
    expect(answeredAt).toBeLessThan(confirmationAnsweredAt[0] ?? 0);
    // Each job reached the order API once, keyed by its job id, with the order it belongs to.
    const calls = orderApi.received.filter((r) => JSON.parse(r.body).orderId === res.body.orderId);
    expect(calls.map((r) => [r.path, r.headers["idempotency-key"]]).sort()).toEqual(
      [
        ["/send-order-confirmation", jobs?.confirmation],
        ["/sync-order-side-effects", jobs?.sideEffects],
      ].sort(),
    );
    expect(JSON.parse(calls.find((r) => r.path === "/send-order-confirmation")?.body ?? "{}")).toMatchObject({
      userId: "u-42",
    });
  });

  it("never fails the order when a side effect fails: the order stands, the job goes dead", async () => {
    failSideEffects = true;
    const res = await dev.call<Placed>("POST", "/orders", { body: order });
    expect(res.status).toBe(201);
    const view = await waitForFollowUps(dev, res.body.orderId, 2);
    failSideEffects = false;
    expect(view.status).toBe("confirmed");
    expect(view.followUps.map((j) => [j.type, j.status])).toEqual([
      ["send-order-confirmation", "succeeded"],
      ["sync-order-side-effects", "dead"],
    ]);
    // The shop keeps taking orders.
    expect((await dev.call<Placed>("POST", "/orders", { body: order })).status).toBe(201);
  });

  it("refuses an invalid order with the contract's error shape", async () => {
    const res = await dev.call<{ error: { code: string; issues: { path: string }[] } }>("POST", "/orders", {
      body: { userId: "u-1", items: [{ sku: "mug", quantity: 0, priceCents: 1 }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.issues.map((i) => i.path)).toEqual(["items.0.quantity"]);
  });
});

describe("the checkout example while Edge Jobs is unreachable", () => {
  it("still confirms the order, and its cron hands the follow-ups over once Edge Jobs is back", async () => {
    const registry = privateRegistry();
    const orderApi = await startLocalServer();
    const checkout = await startDev({
      config: [CHECKOUT],
      migrate: [{ binding: "ORDERS_DB", config: CHECKOUT }],
      env: registry.env,
    });
    let jobs: DevServer | undefined;
    try {
      const res = await checkout.call<Placed>("POST", "/orders", { body: order });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: "confirmed", jobs: null });
      // wrangler prints the Worker's log line a moment after the answer.
      for (let i = 0; i < 50 && !checkout.output().includes("follow-up jobs not enqueued yet"); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(checkout.output()).toContain("follow-up jobs not enqueued yet");

      // Edge Jobs comes up in its own session; the checkout's binding finds it through the registry.
      jobs = await startDev({ vars: { ORDER_API_URL: orderApi.url }, env: registry.env });
      const deadline = Date.now() + 60_000;
      let view: OrderView | undefined;
      while (Date.now() < deadline) {
        await checkout.tick();
        view = (await checkout.call<OrderView>("GET", `/orders/${res.body.orderId}`)).body;
        if (view.followUps.length === 2) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(view?.followUps).toHaveLength(2);
      const done = await waitForFollowUps(checkout, res.body.orderId, 2);
      expect(done.followUps.map((j) => j.status)).toEqual(["succeeded", "succeeded"]);
      // Later sweeps find nothing left to hand over: each side effect ran once.
      await checkout.tick();
      const calls = orderApi.received.filter((r) => JSON.parse(r.body).orderId === res.body.orderId);
      expect(calls.map((r) => r.path).sort()).toEqual(["/send-order-confirmation", "/sync-order-side-effects"]);

      // Edge Jobs gone again: the order still reads, its jobs' state is unknown for now.
      await jobs.stop();
      jobs = undefined;
      const offline = await checkout.call<OrderView>("GET", `/orders/${res.body.orderId}`);
      expect(offline.status).toBe(200);
      expect(offline.body.status).toBe("confirmed");
      expect(offline.body.followUps.map((j) => j.status)).toEqual(["unknown", "unknown"]);
    } finally {
      await jobs?.stop();
      await checkout.stop();
      await orderApi.close();
      registry.remove();
    }
  });
});
