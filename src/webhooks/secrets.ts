// Tenant signing secrets: their format, and which of them sign during a rotation's grace period.
import { bytesToBase64, SECRET_PREFIX } from "./signing";

/** After a rotation the previous secret keeps signing (beside the new one) this long, so receivers can switch over. */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

/** 32 random bytes, as `whsec_<base64>` (the Standard Webhooks secret format). */
export function formatSecret(randomBytes: Uint8Array): string {
  if (randomBytes.length < 24) throw new Error("a webhook secret needs at least 24 random bytes");
  return `${SECRET_PREFIX}${bytesToBase64(randomBytes)}`;
}

export const newSecret = () => formatSecret(crypto.getRandomValues(new Uint8Array(32)));

export type SecretRecord = {
  secret: string;
  previousSecret: string | null;
  previousExpiresAt: number | null;
  rotatedAt: number | null;
};

/** The previous secret while its grace period lasts, else null. */
export function livePreviousSecret(record: SecretRecord, now: number): string | null {
  if (!record.previousSecret || record.previousExpiresAt == null || record.previousExpiresAt <= now) return null;
  return record.previousSecret;
}

/** The secrets that sign an outgoing message now: the current one first. */
export function signingSecrets(record: SecretRecord, now: number): string[] {
  const previous = livePreviousSecret(record, now);
  return previous ? [record.secret, previous] : [record.secret];
}

/** The public shape of GET /v1/webhook-secret. */
export function secretView(record: SecretRecord, now: number) {
  return {
    secret: record.secret,
    previousSecret: livePreviousSecret(record, now),
    rotatedAt: record.rotatedAt == null ? null : new Date(record.rotatedAt).toISOString(),
  };
}
