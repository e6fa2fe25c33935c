// What an HTTP answer means for a delivery: done, try again (and when), or give up. Pure.

/** A target may ask for a pause with Retry-After; longer asks are cut to this so a job is never parked for days. */
export const MAX_RETRY_AFTER_SECONDS = 3600;

/** 4xx answers that say "not now" rather than "never": worth another try. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

export type ResponseVerdict =
  | { kind: "success" }
  | { kind: "retry"; retryAfterSeconds: number | null }
  | { kind: "dead" };

/**
 * Retry-After as delta-seconds or an HTTP date, in whole seconds from `now` (ms), capped at
 * MAX_RETRY_AFTER_SECONDS. Null when absent or unreadable; a date in the past means 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  const text = value?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Math.min(MAX_RETRY_AFTER_SECONDS, Number(text));
  // HTTP dates always name a weekday or month; this keeps Date.parse from reading bare numbers or ISO oddities.
  if (!/[a-z]{3}/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, Math.ceil((at - now) / 1000)));
}

/** 2xx succeeds; 408, 409, 425, 429 and 5xx are retried (honouring Retry-After); anything else is final. */
export function classifyResponse(status: number, retryAfter: string | null, now: number): ResponseVerdict {
  if (status >= 200 && status < 300) return { kind: "success" };
  if (status >= 500 || RETRYABLE_4XX.has(status)) {
    return { kind: "retry", retryAfterSeconds: parseRetryAfter(retryAfter, now) };
  }
  return { kind: "dead" };
}
