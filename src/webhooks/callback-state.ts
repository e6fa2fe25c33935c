// A completion callback's delivery state (stored in jobs.callback_state) and how each attempt moves it. Pure.
import type { CallbackEvent, CallbackState } from "../contract/job";

export type { CallbackEvent, CallbackState };

/** Deliveries stop after this many attempts (about 1.5 h of backoff), so nothing retries forever. */
export const CALLBACK_MAX_ATTEMPTS = 8;
/** How long one delivery attempt may wait for the receiver. */
export const CALLBACK_TIMEOUT_SECONDS = 10;
const BASE_DELAY_SECONDS = 5;
const MAX_DELAY_SECONDS = 3600;

export type DeliveryResult =
  | { ok: true; status: number }
  | { ok: false; status: number | null; error: string; final: boolean; retryAfterSeconds: number | null };

export function pendingState(event: CallbackEvent, webhookId: string): CallbackState {
  return {
    status: "pending",
    event,
    webhookId,
    attempts: 0,
    lastStatus: null,
    lastError: null,
    lastAttemptAt: null,
    nextAttemptAt: null,
    deliveredAt: null,
  };
}

/** 5 s, 15 s, 45 s… (×3 per attempt, at most 1 h), half of it random, or the receiver's Retry-After when longer. */
export function callbackDelaySeconds(attempt: number, retryAfterSeconds: number | null, random: () => number): number {
  const full = Math.min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 3 ** Math.max(0, attempt - 1));
  const jittered = Math.ceil(full / 2 + (random() * full) / 2);
  return Math.max(jittered, Math.min(MAX_DELAY_SECONDS, retryAfterSeconds ?? 0));
}

/** A delivery's state whatever it reports: a job's outcome or a batch's (src/webhooks/batch-callbacks.ts). */
type AnyDeliveryState = Omit<CallbackState, "event"> & { event: string };

/** The state after one more attempt, and when to try again (null: delivery is over, one way or the other). */
export function afterAttempt<S extends AnyDeliveryState>(
  state: S,
  result: DeliveryResult,
  now: number,
  random: () => number,
): { state: S; retryInSeconds: number | null } {
  const attempts = state.attempts + 1;
  const at = new Date(now).toISOString();
  if (result.ok) {
    return {
      state: {
        ...state,
        status: "delivered",
        attempts,
        lastStatus: result.status,
        lastError: null,
        lastAttemptAt: at,
        nextAttemptAt: null,
        deliveredAt: at,
      },
      retryInSeconds: null,
    };
  }
  const giveUp = result.final || attempts >= CALLBACK_MAX_ATTEMPTS;
  const delay = giveUp ? null : callbackDelaySeconds(attempts, result.retryAfterSeconds, random);
  return {
    state: {
      ...state,
      status: giveUp ? "failed" : "pending",
      attempts,
      lastStatus: result.status,
      lastError: result.error.slice(0, 500),
      lastAttemptAt: at,
      nextAttemptAt: delay === null ? null : new Date(now + delay * 1000).toISOString(),
    },
    retryInSeconds: delay,
  };
}
