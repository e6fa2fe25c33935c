// One signed webhook POST (Standard Webhooks headers), shared by job callbacks and batch callbacks.
import { describeError } from "../core/errors";
import { CALLBACK_TIMEOUT_SECONDS, type DeliveryResult } from "./callback-state";
import { parseRetryAfter } from "./response-policy";
import { webhookHeaders } from "./signing";
import { checkTarget } from "./target-guard";

/** POSTs `body` to `url`, signed with every secret, and says what came of it. Never throws. */
export async function postSigned(
  url: string,
  body: string,
  secrets: string[],
  webhookId: string,
  allowPrivate: boolean,
  now: number,
): Promise<DeliveryResult> {
  const target = checkTarget(url, { allowPrivate });
  if (!target.ok) {
    return { ok: false, status: null, error: `target refused: ${target.reason}`, final: true, retryAfterSeconds: null };
  }
  const headers = {
    "content-type": "application/json",
    "user-agent": "edge-jobs-webhooks/1",
    ...(await webhookHeaders(secrets, webhookId, Math.floor(now / 1000), body)),
  };
  const timeout = AbortSignal.timeout(CALLBACK_TIMEOUT_SECONDS * 1000);
  try {
    const response = await fetch(target.url, { method: "POST", headers, body, redirect: "manual", signal: timeout });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return {
      ok: false,
      status: response.status,
      error: `receiver answered ${response.status}`,
      final: false,
      retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after"), now),
    };
  } catch (err) {
    const error = timeout.aborted
      ? `no answer within ${CALLBACK_TIMEOUT_SECONDS}s`
      : `request failed: ${describeError(err).message}`;
    return { ok: false, status: null, error, final: false, retryAfterSeconds: null };
  }
}
