// Shared by the checkout examples: POST the job's data to the app's order API, if one is configured.
import type { JobContext } from "../../src/core/define-job";
import { NonRetryableError, RetryAfterError } from "../../src/core/errors";

/** Statuses worth another try; any other 4xx means the request itself is wrong. */
const RETRYABLE_STATUSES = new Set([408, 409, 425, 429]);

export async function callOrderApi(action: string, body: Record<string, unknown>, ctx: JobContext) {
  const base = ctx.env.ORDER_API_URL;
  if (!base) {
    ctx.log.info(`${action}: ORDER_API_URL is not set; nothing to call`, { action });
    return { delivered: false };
  }
  const response = await fetch(new URL(action, base.endsWith("/") ? base : `${base}/`), {
    method: "POST",
    // The job id is a stable idempotency key: a retried attempt never doubles the side effect.
    headers: { "content-type": "application/json", "idempotency-key": ctx.jobId },
    body: JSON.stringify({ ...body, jobId: ctx.jobId, attempt: ctx.attempt }),
    signal: ctx.signal,
  });
  const text = await response.text();
  if (response.ok) return { delivered: true, status: response.status };
  const message = `${action}: order API answered ${response.status}`;
  if (response.status >= 500 || RETRYABLE_STATUSES.has(response.status)) {
    const retryAfter = Number(response.headers.get("retry-after"));
    if (Number.isFinite(retryAfter) && retryAfter > 0) throw new RetryAfterError(message, retryAfter);
    throw new Error(message);
  }
  throw new NonRetryableError(`${message}: ${text.slice(0, 200)}`);
}
