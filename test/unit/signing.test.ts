// Standard Webhooks signing: our signer and verifier against the reference `standardwebhooks` library, both ways.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { formatSecret, secretView, signingSecrets } from "../../src/webhooks/secrets";
import { signWebhook, verifyWebhook, WebhookVerificationError, webhookHeaders } from "../../src/webhooks/signing";

const bytes = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) % 256);
const SECRET = formatSecret(bytes(1));
const OTHER = formatSecret(bytes(2));
const HTTP_OLD = formatSecret(bytes(3));
const HTTP_NEW = formatSecret(bytes(4));
/** A record just rotated at `at`: OTHER/HTTP_NEW are current, SECRET/HTTP_OLD previous. */
const rotated = (at: number) => ({
  secret: OTHER,
  previousSecret: SECRET,
  httpSecret: HTTP_NEW,
  previousHttpSecret: HTTP_OLD,
  previousExpiresAt: at + 60_000,
  rotatedAt: at,
});
const BODY = JSON.stringify({ type: "job.succeeded", timestamp: "2026-01-01T00:00:00.000Z", data: { id: "job_1" } });

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("signing interoperates with the standardwebhooks library", () => {
  it("the library verifies what we sign", async () => {
    const headers = await webhookHeaders([SECRET], "msg_1", nowSeconds(), BODY);
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it("we verify what the library signs", async () => {
    const timestamp = new Date();
    const signature = new Webhook(SECRET).sign("msg_2", timestamp, BODY);
    const headers = {
      "webhook-id": "msg_2",
      "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
      "webhook-signature": signature,
    };
    expect(await verifyWebhook(SECRET, headers, BODY)).toEqual(JSON.parse(BODY));
    expect(await signWebhook(SECRET, "msg_2", Number(headers["webhook-timestamp"]), BODY)).toBe(signature);
  });

  it("signs with both secrets during a rotation, and either one verifies", async () => {
    const now = Date.now();
    const record = { ...rotated(now), previousExpiresAt: now + 60_000 };
    const secrets = signingSecrets(record, now, "callback");
    expect(secrets).toEqual([OTHER, SECRET]);
    expect(signingSecrets(record, now, "http")).toEqual([HTTP_NEW, HTTP_OLD]);
    const headers = await webhookHeaders(secrets, "msg_3", nowSeconds(), BODY);
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(new Webhook(SECRET).verify(BODY, headers)).toBeTruthy();
    expect(new Webhook(OTHER).verify(BODY, headers)).toBeTruthy();
    expect(await verifyWebhook(SECRET, headers, BODY)).toBeTruthy();
    expect(await verifyWebhook(OTHER, new Headers(headers), BODY)).toBeTruthy();
  });

  it("drops the previous secrets once their grace period is over", () => {
    const now = Date.now();
    const record = { ...rotated(now - 1), previousExpiresAt: now };
    expect(signingSecrets(record, now, "callback")).toEqual([OTHER]);
    expect(signingSecrets(record, now, "http")).toEqual([HTTP_NEW]);
  });
});

describe("callbacks and http jobs are signed with different secrets", () => {
  it("no secret of one purpose signs for the other, during a rotation too", () => {
    const now = Date.now();
    const record = { ...rotated(now), previousExpiresAt: now + 60_000 };
    const callback = signingSecrets(record, now, "callback");
    const http = signingSecrets(record, now, "http");
    expect(callback.some((s) => http.includes(s))).toBe(false);
  });

  it("a request signed with the http job secret does not verify as a callback", async () => {
    const forged = await webhookHeaders([HTTP_NEW], "job_1", nowSeconds(), BODY);
    await expect(verifyWebhook([OTHER, SECRET], forged, BODY)).rejects.toThrow("no matching signature");
    expect(await verifyWebhook(HTTP_NEW, forged, BODY)).toEqual(JSON.parse(BODY));
  });

  it("the secret view names each purpose's secrets", () => {
    const now = Date.now();
    expect(secretView({ ...rotated(now), previousExpiresAt: now + 60_000 }, now)).toEqual({
      secret: OTHER,
      previousSecret: SECRET,
      rotatedAt: new Date(now).toISOString(),
      httpJobSecret: HTTP_NEW,
      previousHttpJobSecret: HTTP_OLD,
    });
  });
});

describe("verifyWebhook refuses what it should", () => {
  const sign = (secret = SECRET, id = "msg_9", ts = nowSeconds(), body = BODY) =>
    webhookHeaders([secret], id, ts, body);

  it("a signature made with another secret", async () => {
    await expect(verifyWebhook(SECRET, await sign(OTHER), BODY)).rejects.toThrow(WebhookVerificationError);
  });

  it("a body changed after signing", async () => {
    await expect(verifyWebhook(SECRET, await sign(), `${BODY} `)).rejects.toThrow("no matching signature");
  });

  it("a different webhook-id than the one signed", async () => {
    const headers = { ...(await sign()), "webhook-id": "msg_other" };
    await expect(verifyWebhook(SECRET, headers, BODY)).rejects.toThrow("no matching signature");
  });

  it("timestamps outside the replay window, both ways", async () => {
    await expect(verifyWebhook(SECRET, await sign(SECRET, "m", nowSeconds() - 301), BODY)).rejects.toThrow("too old");
    await expect(verifyWebhook(SECRET, await sign(SECRET, "m", nowSeconds() + 301), BODY)).rejects.toThrow("too new");
    // The window is the receiver's choice.
    const old = await sign(SECRET, "m", nowSeconds() - 600);
    expect(await verifyWebhook(SECRET, old, BODY, { toleranceSeconds: 900 })).toBeTruthy();
  });

  it("missing headers and signatures of an unknown version", async () => {
    const headers = await sign();
    await expect(verifyWebhook(SECRET, { "webhook-id": "m" }, BODY)).rejects.toThrow("missing webhook headers");
    const v2 = { ...headers, "webhook-signature": headers["webhook-signature"].replace("v1,", "v2,") };
    await expect(verifyWebhook(SECRET, v2, BODY)).rejects.toThrow("no matching signature");
  });

  it("answers a non-JSON body as text and an empty body as null", async () => {
    expect(await verifyWebhook(SECRET, await sign(SECRET, "m", nowSeconds(), "plain"), "plain")).toBe("plain");
    expect(await verifyWebhook(SECRET, await sign(SECRET, "m", nowSeconds(), ""), new Uint8Array())).toBeNull();
  });
});

describe("secrets", () => {
  it("use the whsec_ format the library reads, from at least 24 random bytes", () => {
    expect(SECRET).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(() => new Webhook(SECRET)).not.toThrow();
    expect(() => formatSecret(new Uint8Array(16))).toThrow();
  });
});
