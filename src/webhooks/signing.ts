// Standard Webhooks signing and verification (HMAC-SHA256 over "id.timestamp.body"), on WebCrypto only.

export const SECRET_PREFIX = "whsec_";
/** Receivers refuse messages whose timestamp is further than this from their clock (replay window). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export class WebhookVerificationError extends Error {
  override name = "WebhookVerificationError";
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The key bytes of a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries). */
function keyBytes(secret: string): Uint8Array {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(encoded);
  } catch {
    throw new Error("webhook secret is not base64 (expected whsec_<base64>)");
  }
  if (bytes.length === 0) throw new Error("webhook secret is empty");
  return bytes;
}

const encoder = new TextEncoder();

/** `v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>` for one secret. */
export async function signWebhook(secret: string, id: string, timestampSeconds: number, body: string) {
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes(secret) as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}

/**
 * The three Standard Webhooks headers. Several secrets (a rotation's grace period) give several
 * signatures, space-separated: a receiver holding either secret accepts the message.
 */
export async function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>> {
  const signatures = await Promise.all(secrets.map((secret) => signWebhook(secret, id, timestampSeconds, body)));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatures.join(" "),
  };
}

export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(" ") : value;
  }
  return undefined;
}

/** Compares every character so the time taken says nothing about where two signatures differ. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export type VerifyOptions = {
  /** Seconds the webhook-timestamp may differ from `now`; default 300. */
  toleranceSeconds?: number;
  /** The receiver's clock in ms; default Date.now(). */
  now?: number;
};

/**
 * Checks a received webhook: its headers, its timestamp against the replay window, and that one of
 * its `v1` signatures was made with `secret` (or any of several secrets) over exactly `body`.
 * Which secret: a completion callback verifies with the tenant's `secret` (GET /v1/webhook-secret), an
 * `http` job's request with its `httpJobSecret`; neither verifies with the other, so a callback receiver
 * holding only `secret` never accepts a body an `http` job sent.
 * Answers the body, JSON-parsed when it is JSON (null when empty); throws WebhookVerificationError otherwise.
 */
export async function verifyWebhook<T = unknown>(
  secret: string | readonly string[],
  headers: HeaderSource,
  body: string | ArrayBuffer | Uint8Array,
  options: VerifyOptions = {},
): Promise<T> {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signature = header(headers, "webhook-signature");
  if (!id || !timestamp || !signature) throw new WebhookVerificationError("missing webhook headers");
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError("invalid webhook-timestamp");
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const sentAt = Number(timestamp);
  if (nowSeconds - sentAt > tolerance) throw new WebhookVerificationError("message timestamp too old");
  if (sentAt - nowSeconds > tolerance) throw new WebhookVerificationError("message timestamp too new");

  const secrets = typeof secret === "string" ? [secret] : secret;
  const expected = await Promise.all(secrets.map((s) => signWebhook(s, id, sentAt, text)));
  const passed = signature.split(" ").filter((s) => s.startsWith("v1,"));
  const matches = passed.some((candidate) => expected.some((mine) => sameText(candidate, mine)));
  if (!matches) throw new WebhookVerificationError("no matching signature");
  if (text === "") return null as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
}
