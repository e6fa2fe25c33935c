import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDev, waitForJob } from "./harness";
import { startLocalServer } from "./local-server";

type Job = { id: string; status: string; attempts: number; result: unknown; attemptLog: { outcome: string }[] };

describe("foundation over a real wrangler dev", () => {
  let dev: DevServer;
  let orderApi: Awaited<ReturnType<typeof startLocalServer>>;
  let key: string;
  const failuresLeft = new Map<string, number>([["/sync-order-side-effects", 1]]);

  beforeAll(async () => {
    orderApi = await startLocalServer((req, res) => {
      const left = failuresLeft.get(req.path) ?? 0;
      if (left > 0) {
        failuresLeft.set(req.path, left - 1);
        res.statusCode = 503;
        res.end("try later");
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end('{"ok":true}');
    });
    dev = await startDev({ vars: { ORDER_API_URL: orderApi.url } });
    key = await dev.newKey("shop");
  });

  afterAll(async () => {
    await dev?.stop();
    await orderApi?.close();
  });

  it("runs the checkout confirmation job against the order API", async () => {
    const res = await dev.call<Job>("POST", "/v1/jobs", {
      token: key,
      body: { type: "send-order-confirmation", payload: { orderId: "o-100", userId: "u-7" } },
    });
    expect(res.status).toBe(202);
    const done = await waitForJob<Job>(dev, key, res.body.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    const call = orderApi.received.find((r) => r.path === "/send-order-confirmation");
    expect(call?.headers["idempotency-key"]).toBe(res.body.id);
    expect(JSON.parse(call?.body ?? "{}")).toMatchObject({ orderId: "o-100", userId: "u-7", jobId: res.body.id });
  });

  it("retries a side effect whose endpoint failed once", async () => {
    const res = await dev.call<Job>("POST", "/v1/jobs", {
      token: key,
      body: {
        type: "sync-order-side-effects",
        payload: { orderId: "o-101" },
        backoff: { type: "fixed", delaySeconds: 1 },
      },
    });
    expect(res.status).toBe(202);
    const done = await waitForJob<Job>(dev, key, res.body.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    expect(done.attemptLog).toHaveLength(1);
    expect(orderApi.received.filter((r) => r.path === "/sync-order-side-effects")).toHaveLength(2);
  });

  it("refuses bad input with the contract's errors and keeps the API answering", async () => {
    const unknown = await dev.call<{ error: { code: string } }>("POST", "/v1/jobs", {
      token: key,
      body: { type: "no-such-type" },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe("unknown_job_type");
    const invalid = await dev.call<{ error: { code: string; issues: { path: string }[] } }>("POST", "/v1/jobs", {
      token: key,
      body: { type: "send-order-confirmation", payload: { orderId: 5 } },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.issues[0]?.path).toBe("payload.orderId");
    const noKey = await dev.call("GET", "/v1/jobs");
    expect(noKey.status).toBe(401);
    const list = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?limit=10", { token: key });
    expect(list.body.data).toHaveLength(2);
  });

  it("serves the OpenAPI document, the docs page and the cron tick", async () => {
    const doc = await dev.call<{ openapi: string; paths: Record<string, unknown> }>("GET", "/openapi.json");
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}", "/v1/dead"]));
    const docs = await fetch(`${dev.url}/docs`);
    expect(await docs.text()).toContain("/v1/jobs/{id}/cancel");
    await dev.tick();
  });
  it("runs a job in the critical lane through its own queue, and refuses a lane the deployment lacks", async () => {
    const res = await dev.call<Job & { queue: string }>("POST", "/v1/jobs", {
      token: key,
      body: { type: "send-order-confirmation", payload: { orderId: "o-102" }, queue: "critical" },
    });
    expect(res.status).toBe(202);
    expect(res.body.queue).toBe("critical");
    const done = await waitForJob<Job & { queue: string }>(dev, key, res.body.id, ["succeeded", "dead"]);
    expect(done).toMatchObject({ status: "succeeded", queue: "critical" });
    const unknown = await dev.call<{ error: { issues: { path: string }[] } }>("POST", "/v1/jobs", {
      token: key,
      body: { type: "send-order-confirmation", payload: { orderId: "o-103" }, queue: "bulk" },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.issues.map((i) => i.path)).toEqual(["queue"]);
    const metrics = await dev.call<{ byQueue: Record<string, unknown> }>("GET", "/v1/metrics", { token: key });
    expect(Object.keys(metrics.body.byQueue)).toEqual(["critical", "default"]);
  });
});
