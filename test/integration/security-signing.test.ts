// Callbacks and http jobs are signed with different secrets: an http job cannot forge a callback its tenant's receivers accept.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../../src/webhooks";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";

type Secrets = {
  secret: string;
  previousSecret: string | null;
  rotatedAt: string | null;
  httpJobSecret: string;
  previousHttpJobSecret: string | null;
};
type Captured = { path: string; headers: Record<string, string>; body: string };

const RECEIVER = "https://receiver.example";

/** Answers every request to RECEIVER with 204 and keeps it; anything else goes out as usual. */
function captureReceiver(): Captured[] {
  const captured: Captured[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(RECEIVER)) return realFetch(input, init);
    captured.push({
      path: new URL(request.url).pathname,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    });
    return new Response(null, { status: 204 });
  });
  return captured;
}

async function waitFor<T>(find: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const secretsOf = async (key: string) => (await call<Secrets>("GET", "/v1/webhook-secret", { token: key })).body;

afterEach(() => vi.restoreAllMocks());

describe("separate signing secrets", () => {
  it("GET /v1/webhook-secret keeps its contract fields and adds the http job secret", async () => {
    const { key } = await newTenant("sign");
    const first = await call<Secrets>("GET", "/v1/webhook-secret", { token: key });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      previousSecret: null,
      rotatedAt: null,
      httpJobSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      previousHttpJobSecret: null,
    });
    expect(first.body.httpJobSecret).not.toBe(first.body.secret);
    expect(await secretsOf(key)).toEqual(first.body);
  });

  it("an http job posting a fake job.succeeded to the tenant's callback receiver does not verify as a callback", async () => {
    const { key } = await newTenant("sign");
    const secrets = await secretsOf(key);
    const captured = captureReceiver();
    const fake = { type: "job.succeeded", timestamp: new Date().toISOString(), data: { id: "job_fake" } };
    const job = await enqueue(key, {
      type: "http",
      payload: { url: `${RECEIVER}/callbacks`, body: fake },
      callbackUrl: `${RECEIVER}/callbacks`,
    });
    await waitForStatus(key, job.id, ["succeeded"]);
    const forged = await waitFor(() => captured.find((c) => c.body.includes("job_fake")), "the http job's request");
    const real = await waitFor(() => captured.find((c) => c.body.includes(job.id)), "the real callback");

    // The receiver verifies callbacks with `secret`: the real one passes, the http job's forgery does not.
    const event = await verifyWebhook<{ type: string; data: { id: string } }>(secrets.secret, real.headers, real.body);
    expect(event).toMatchObject({ type: "job.succeeded", data: { id: job.id } });
    await expect(verifyWebhook(secrets.secret, forged.headers, forged.body)).rejects.toThrow("no matching signature");
    // The http job's request is signed, with the http job secret only.
    expect(await verifyWebhook(secrets.httpJobSecret, forged.headers, forged.body)).toEqual(fake);
    await expect(verifyWebhook(secrets.httpJobSecret, real.headers, real.body)).rejects.toThrow();
  });

  it("rotation moves both secrets along, and each purpose signs with its own pair during the grace period", async () => {
    const { key } = await newTenant("sign");
    const before = await secretsOf(key);
    const rotated = await call<Secrets>("POST", "/v1/webhook-secret/rotate", { token: key });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ previousSecret: before.secret, previousHttpJobSecret: before.httpJobSecret });
    expect(rotated.body.secret).not.toBe(before.secret);
    expect(rotated.body.httpJobSecret).not.toBe(before.httpJobSecret);
    expect(await secretsOf(key)).toEqual(rotated.body);

    const captured = captureReceiver();
    const job = await enqueue(key, {
      type: "http",
      payload: { url: `${RECEIVER}/work`, body: { n: 1 } },
      callbackUrl: `${RECEIVER}/cb`,
    });
    await waitForStatus(key, job.id, ["succeeded"]);
    const work = await waitFor(() => captured.find((c) => c.path === "/work"), "the http job's request");
    const callback = await waitFor(() => captured.find((c) => c.path === "/cb"), "the callback");
    expect(work.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(callback.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const s of [rotated.body.httpJobSecret, before.httpJobSecret]) {
      expect(await verifyWebhook(s, work.headers, work.body)).toEqual({ n: 1 });
      await expect(verifyWebhook(s, callback.headers, callback.body)).rejects.toThrow();
    }
    for (const s of [rotated.body.secret, before.secret]) {
      expect(await verifyWebhook(s, callback.headers, callback.body)).toMatchObject({ data: { id: job.id } });
      await expect(verifyWebhook(s, work.headers, work.body)).rejects.toThrow();
    }
  });

  it("a secret row made before the split gets its own http job secret on first use, keeping the callback secret", async () => {
    const { tenant, key } = await newTenant("sign");
    const legacy = "whsec_bGVnYWN5LXNoYXJlZC1zZWNyZXQtMzItYnl0ZXMhIQ==";
    await env.DB.prepare("INSERT INTO webhook_secrets (tenant_id, secret, created_at) VALUES (?, ?, ?)")
      .bind(tenant, legacy, Date.now())
      .run();
    const secrets = await secretsOf(key);
    expect(secrets.secret).toBe(legacy);
    expect(secrets.httpJobSecret).toMatch(/^whsec_/);
    expect(secrets.httpJobSecret).not.toBe(legacy);
    expect(await secretsOf(key)).toEqual(secrets);
  });
});
