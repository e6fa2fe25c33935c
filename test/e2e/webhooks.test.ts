// Webhooks over a real `wrangler dev` and a real local HTTP server: the http job, callbacks, signatures, the guard.
import type { ServerResponse } from "node:http";
import { verifyWebhook } from "edge-jobs/webhooks";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REFUSED_TARGETS } from "../fixtures/refused-targets";
import { type DevServer, startDev, waitForJob } from "./harness";
import { type Received, startLocalServer } from "./local-server";

type Job = {
  id: string;
  status: string;
  attempts: number;
  result: { status: number; headers: Record<string, string>; body: string } | null;
  error: { name: string; message: string } | null;
  attemptLog: { attempt: number; outcome: string; error: { message: string } | null }[];
  flow: { key: string } | null;
  callback: { status: string; event: string; webhookId: string; attempts: number; lastStatus: number | null } | null;
};
type Secret = {
  secret: string;
  previousSecret: string | null;
  rotatedAt: string | null;
  httpJobSecret: string;
  previousHttpJobSecret: string | null;
};
type CallbackBody = { type: string; timestamp: string; data: Job };
type Answer = (res: ServerResponse) => void;

const reply =
  (status: number, body = "", headers: Record<string, string> = {}): Answer =>
  (res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
/** Never answers: the request hangs until the caller gives up. */
const hang: Answer = () => {};

describe("webhooks over a real wrangler dev", () => {
  let dev: DevServer;
  let target: Awaited<ReturnType<typeof startLocalServer>>;
  let key: string;
  /** Verifies callbacks. */
  let secret: string;
  /** Verifies http job requests. */
  let httpSecret: string;
  /** Per path, the answers to give in order; the last one repeats. */
  const plans = new Map<string, Answer[]>();
  const plan = (path: string, ...answers: Answer[]) => {
    plans.set(path, answers);
    return `${target.url}${path}`;
  };
  const requestsTo = (path: string) => target.received.filter((r) => r.path === path);

  async function waitForRequests(path: string, count: number, timeoutMs = 30_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (requestsTo(path).length < count) {
      if (Date.now() > deadline) throw new Error(`${path} got ${requestsTo(path).length} of ${count} requests`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return requestsTo(path);
  }

  const enqueue = async (body: Record<string, unknown>) => {
    const res = await dev.call<Job>("POST", "/v1/jobs", { token: key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body;
  };
  const finished = (id: string, timeoutMs = 30_000) => waitForJob<Job>(dev, key, id, ["succeeded", "dead"], timeoutMs);

  /** Polls until the job's callback delivery is over (delivered or failed). */
  async function callbackSettled(id: string, timeoutMs = 30_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await dev.call<Job>("GET", `/v1/jobs/${id}`, { token: key })).body;
      if (job.callback && job.callback.status !== "pending") return job;
      if (Date.now() > deadline) throw new Error(`callback of ${id} still ${JSON.stringify(job.callback)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    target = await startLocalServer((req, res) => {
      const answers = plans.get(req.path) ?? [reply(200, "ok")];
      const answer = answers.length > 1 ? (answers.shift() as Answer) : (answers[0] as Answer);
      answer(res);
    });
    dev = await startDev();
    key = await dev.newKey("hooks");
    const res = await dev.call<Secret>("GET", "/v1/webhook-secret", { token: key });
    expect(res.status).toBe(200);
    secret = res.body.secret;
    httpSecret = res.body.httpJobSecret;
  });

  afterAll(async () => {
    await dev?.stop();
    await target?.close();
  });

  it("signs http job requests so the standardwebhooks library and verifyWebhook both accept them", async () => {
    const url = plan("/signed", reply(200, '{"fine":true}', { "content-type": "application/json", "x-seen": "1" }));
    const job = await enqueue({
      type: "http",
      payload: { url, method: "PUT", headers: { "x-custom": "yes" }, body: { hello: "world" } },
    });
    expect(job.flow?.key).toBe(`http:${new URL(url).host}`);
    const done = await finished(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.result).toMatchObject({ status: 200, body: '{"fine":true}', headers: { "x-seen": "1" } });

    const [request] = requestsTo("/signed");
    expect(request?.method).toBe("PUT");
    expect(request?.headers["x-custom"]).toBe("yes");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["webhook-id"]).toBe(job.id);
    const headers = request?.headers as Record<string, string>;
    expect(new Webhook(httpSecret).verify(request?.body ?? "", headers)).toEqual({ hello: "world" });
    expect(await verifyWebhook(httpSecret, headers, request?.body ?? "")).toEqual({ hello: "world" });
    const forged = { ...headers, "webhook-signature": new Webhook(httpSecret).sign("other-id", new Date(), "x") };
    await expect(verifyWebhook(httpSecret, forged, request?.body ?? "")).rejects.toThrow();
    // The callback secret never verifies an http job's request: a job cannot pose as a callback.
    await expect(verifyWebhook(secret, headers, request?.body ?? "")).rejects.toThrow("no matching signature");
  });

  it("retries a 500 and succeeds on the 200 that follows", async () => {
    const url = plan("/flaky", reply(500, "boom"), reply(200, "recovered"));
    const job = await enqueue({ type: "http", payload: { url }, backoff: { type: "fixed", delaySeconds: 1 } });
    const done = await finished(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    expect(done.result?.body).toBe("recovered");
    expect(done.attemptLog.map((a) => [a.attempt, a.outcome, a.error?.message])).toEqual([
      [1, "failed", "target answered 500: boom"],
    ]);
    // Every attempt of one job is the same message to the receiver.
    const ids = requestsTo("/flaky").map((r) => r.headers["webhook-id"]);
    expect(ids).toEqual([job.id, job.id]);
  });

  it("waits at least Retry-After: 2 seconds after a 429", async () => {
    const url = plan("/limited", reply(429, "slow down", { "retry-after": "2" }), reply(204));
    const job = await enqueue({ type: "http", payload: { url }, backoff: { type: "fixed", delaySeconds: 0 } });
    const done = await finished(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.result?.status).toBe(204);
    const [first, second] = requestsTo("/limited");
    const waitedMs = (second?.at ?? 0) - (first?.at ?? 0);
    console.info(JSON.stringify({ retryAfterSeconds: 2, waitedMs }));
    expect(waitedMs).toBeGreaterThanOrEqual(2_000);
  });

  it("sends a 404 to dead at once", async () => {
    const url = plan("/missing", reply(404, "no such thing"));
    const job = await enqueue({ type: "http", payload: { url }, backoff: { type: "fixed", delaySeconds: 0 } });
    const done = await finished(job.id);
    expect(done.status).toBe("dead");
    expect(done.attempts).toBe(1);
    expect(done.error).toMatchObject({ name: "NonRetryableError", message: "target answered 404: no such thing" });
    expect(requestsTo("/missing")).toHaveLength(1);
  });

  it("times out a hanging target and retries it", async () => {
    const url = plan("/hangs", hang, reply(200, "awake"));
    const job = await enqueue({
      type: "http",
      payload: { url, timeoutSeconds: 1 },
      backoff: { type: "fixed", delaySeconds: 0 },
    });
    const done = await finished(job.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    expect(done.attemptLog[0]).toMatchObject({
      outcome: "timed_out",
      error: { message: "request timed out after 1s" },
    });
  });

  it("keeps at most 64 KiB of the answer's body", async () => {
    const url = plan("/big", reply(200, "x".repeat(200 * 1024)));
    const done = await finished((await enqueue({ type: "http", payload: { url, method: "GET" } })).id);
    expect(done.status).toBe("succeeded");
    expect(done.result?.body).toHaveLength(64 * 1024);
  });

  it("POSTs a signed job.succeeded callback and shows it delivered on the job", async () => {
    const url = plan("/work-ok", reply(200, "done"));
    const callbackUrl = plan("/cb-success", reply(204));
    const job = await enqueue({ type: "http", payload: { url }, callbackUrl });
    const [delivery] = await waitForRequests("/cb-success", 1);
    const headers = delivery?.headers as Record<string, string>;
    const event = new Webhook(secret).verify(delivery?.body ?? "", headers) as CallbackBody;
    expect(event.type).toBe("job.succeeded");
    expect(event.data).toMatchObject({ id: job.id, status: "succeeded", result: { status: 200, body: "done" } });
    expect(await verifyWebhook(secret, headers, delivery?.body ?? "")).toEqual(event);

    const settled = await callbackSettled(job.id);
    expect(settled.callback).toMatchObject({
      status: "delivered",
      event: "job.succeeded",
      attempts: 1,
      lastStatus: 204,
      webhookId: headers["webhook-id"],
    });
  });

  it("POSTs a signed job.dead callback, retrying it with the same webhook-id", async () => {
    const url = plan("/work-gone", reply(410, "gone"));
    const callbackUrl = plan("/cb-dead", reply(503, "busy"), reply(200));
    const job = await enqueue({ type: "http", payload: { url }, callbackUrl });
    const deliveries = await waitForRequests("/cb-dead", 2);
    for (const delivery of deliveries) {
      const event = new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>);
      expect(event).toMatchObject({ type: "job.dead", data: { id: job.id, status: "dead" } });
    }
    expect(deliveries[1]?.headers["webhook-id"]).toBe(deliveries[0]?.headers["webhook-id"]);
    const settled = await callbackSettled(job.id);
    expect(settled.callback).toMatchObject({ status: "delivered", event: "job.dead", attempts: 2, lastStatus: 200 });
  });

  it("signs with both secrets during a rotation", async () => {
    const rotated = await dev.call<Secret>("POST", "/v1/webhook-secret/rotate", { token: key });
    expect(rotated.status).toBe(200);
    expect(rotated.body.previousSecret).toBe(secret);
    expect(rotated.body.previousHttpJobSecret).toBe(httpSecret);
    const callbackUrl = plan("/cb-rotated", reply(200));
    const job = await enqueue({ type: "http", payload: { url: plan("/work-rotated", reply(200)) }, callbackUrl });
    const [delivery] = await waitForRequests("/cb-rotated", 1);
    const headers = delivery?.headers as Record<string, string>;
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const s of [secret, rotated.body.secret]) {
      expect(new Webhook(s).verify(delivery?.body ?? "", headers)).toMatchObject({ data: { id: job.id } });
    }
    // The http job's own request carries both signatures too.
    const [work] = requestsTo("/work-rotated");
    const workHeaders = work?.headers as Record<string, string>;
    expect(workHeaders["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const s of [httpSecret, rotated.body.httpJobSecret]) {
      expect(() => new Webhook(s).verify(work?.body ?? "", workHeaders)).not.toThrow();
    }
    for (const s of [secret, rotated.body.secret]) {
      expect(() => new Webhook(s).verify(work?.body ?? "", workHeaders)).toThrow();
    }
    secret = rotated.body.secret;
    httpSecret = rotated.body.httpJobSecret;
  });
});

describe("the target guard over a wrangler dev with ALLOW_PRIVATE_TARGETS off", () => {
  let dev: DevServer;
  let key: string;

  beforeAll(async () => {
    dev = await startDev({ vars: { ALLOW_PRIVATE_TARGETS: "false" } });
    key = await dev.newKey("guarded");
  });

  afterAll(async () => {
    await dev?.stop();
  });

  it("refuses every form on the list with a 400, as an http url and as a callbackUrl, and writes nothing", async () => {
    const refusedAs = async (body: Record<string, unknown>) => {
      const res = await dev.call<{ error: { code: string; issues: { path: string }[] } }>("POST", "/v1/jobs", {
        token: key,
        body,
      });
      return [res.status, res.body.error?.code, res.body.error?.issues?.map((i) => i.path).join()];
    };
    for (const [url] of REFUSED_TARGETS) {
      expect(await refusedAs({ type: "http", payload: { url } }), url).toEqual([400, "invalid_request", "payload.url"]);
      expect(
        await refusedAs({ type: "http", payload: { url: "https://example.com/" }, callbackUrl: url }),
        url,
      ).toEqual([400, "invalid_request", "callbackUrl"]);
    }
    const list = await dev.call<{ data: Job[] }>("GET", "/v1/jobs", { token: key });
    expect(list.body.data).toEqual([]);
  });
});
