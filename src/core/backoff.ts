// Backoff between attempts: pure, with randomness passed in so tests can pin it.
import { type Backoff, MAX_QUEUE_DELAY_SECONDS } from "../contract/job";

/**
 * Seconds to wait before the attempt after `attempt` (1-based) failed.
 * Exponential: min(max, base · 2^(attempt-1)); fixed: base. With jitter, "equal jitter":
 * half the delay is kept and half is random, so retries spread out but never come back at once.
 */
export function backoffDelaySeconds(backoff: Backoff, attempt: number, random: () => number): number {
  const cap = Math.min(backoff.maxDelaySeconds ?? MAX_QUEUE_DELAY_SECONDS, MAX_QUEUE_DELAY_SECONDS);
  const raw =
    backoff.type === "fixed"
      ? backoff.delaySeconds
      : backoff.delaySeconds * 2 ** Math.max(0, Math.min(attempt - 1, 30));
  const delay = Math.min(cap, raw);
  if (backoff.jitter === false || delay === 0) return Math.ceil(delay);
  const half = delay / 2;
  return Math.ceil(half + random() * half);
}
