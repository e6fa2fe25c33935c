// The job state machine: which manual actions are allowed, and where an attempt's outcome leads.

import { type Backoff, FINISHED_STATUSES, type JobStatus, MAX_QUEUE_DELAY_SECONDS } from "../contract/job";
import { backoffDelaySeconds } from "./backoff";
import { NonRetryableError, RetryAfterError } from "./errors";

/** `waiting`: a parked workflow job (its unfinished children are cancelled with it, see service/cancel-job.ts). */
export const CANCELLABLE: readonly JobStatus[] = ["scheduled", "queued", "retrying", "waiting"];
export const RETRYABLE_BY_HAND: readonly JobStatus[] = ["dead", "cancelled"];

export const canCancel = (status: JobStatus) => CANCELLABLE.includes(status);
export const canRetryByHand = (status: JobStatus) => RETRYABLE_BY_HAND.includes(status);
export const canDelete = (status: JobStatus) => FINISHED_STATUSES.includes(status);

export type FailureDecision =
  | { next: "retrying"; delaySeconds: number }
  | { next: "dead"; reason: "non_retryable" | "attempts_exhausted" };

/** After attempt number `attempt` failed with `err`: retry later, or give up. */
export function decideAfterFailure(
  err: unknown,
  attempt: number,
  maxAttempts: number,
  backoff: Backoff,
  random: () => number,
): FailureDecision {
  if (err instanceof NonRetryableError) return { next: "dead", reason: "non_retryable" };
  if (attempt >= maxAttempts) return { next: "dead", reason: "attempts_exhausted" };
  const backoffDelay = backoffDelaySeconds(backoff, attempt, random);
  const asked = err instanceof RetryAfterError ? Math.ceil(err.retryAfterSeconds) : 0;
  return { next: "retrying", delaySeconds: Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(backoffDelay, asked)) };
}
