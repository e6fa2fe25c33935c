// Tenant signing secrets: their format, which one signs what, and which of them sign during a rotation's grace period.
import { bytesToBase64, SECRET_PREFIX } from "./signing";

/** After a rotation the previous secret keeps signing (beside the new one) this long, so receivers can switch over. */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

/**
 * What a signature vouches for. Completion (and batch) callbacks and `http` job requests are signed with
 * different secrets: an `http` job sends a body its tenant chose, so with a shared secret any API key of
 * the tenant could make Edge Jobs sign a fake `job.succeeded` for the tenant's callback receivers.
 */
export type SigningPurpose = "callback" | "http";

/** 32 random bytes, as `whsec_<base64>` (the Standard Webhooks secret format). */
export function formatSecret(randomBytes: Uint8Array): string {
  if (randomBytes.length < 24) throw new Error("a webhook secret needs at least 24 random bytes");
  return `${SECRET_PREFIX}${bytesToBase64(randomBytes)}`;
}

export const newSecret = () => formatSecret(crypto.getRandomValues(new Uint8Array(32)));

export type SecretRecord = {
  /** Signs callbacks. */
  secret: string;
  previousSecret: string | null;
  /** Signs http job requests; null only on a row made before the split, until its first use fills it. */
  httpSecret: string | null;
  previousHttpSecret: string | null;
  previousExpiresAt: number | null;
  rotatedAt: number | null;
};

/** A record whose http secret exists (the store fills it on first use). */
export type CompleteSecretRecord = SecretRecord & { httpSecret: string };

const inGrace = (record: SecretRecord, now: number) =>
  record.previousExpiresAt != null && record.previousExpiresAt > now;

/** The previous secret for `purpose` while its grace period lasts, else null. */
export function livePreviousSecret(record: SecretRecord, now: number, purpose: SigningPurpose = "callback") {
  const previous = purpose === "callback" ? record.previousSecret : record.previousHttpSecret;
  return previous && inGrace(record, now) ? previous : null;
}

/** The secrets that sign an outgoing message for `purpose` now: the current one first. */
export function signingSecrets(record: CompleteSecretRecord, now: number, purpose: SigningPurpose): string[] {
  const current = purpose === "callback" ? record.secret : record.httpSecret;
  const previous = livePreviousSecret(record, now, purpose);
  return previous ? [current, previous] : [current];
}

/**
 * The public shape of GET /v1/webhook-secret: `secret`/`previousSecret` verify callbacks (the contract's
 * fields, unchanged); `httpJobSecret`/`previousHttpJobSecret` (additive) verify http job requests.
 */
export function secretView(record: CompleteSecretRecord, now: number) {
  return {
    secret: record.secret,
    previousSecret: livePreviousSecret(record, now, "callback"),
    rotatedAt: record.rotatedAt == null ? null : new Date(record.rotatedAt).toISOString(),
    httpJobSecret: record.httpSecret,
    previousHttpJobSecret: livePreviousSecret(record, now, "http"),
  };
}
