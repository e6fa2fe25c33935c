// Settle, pure: an attempt's outcome → the row write that records it, and what to do with its message once that write commits.

import { type AttemptLogEntry, type JobOptions, MAX_QUEUE_DELAY_SECONDS } from "../contract/job";
import { describeError } from "../core/errors";
import type { LogFields } from "../core/logger";
import { decideAfterFailure } from "../core/state";
import type { AttemptRef, OutcomeWrite, ParkWrite } from "../db/consumer-statements";
import type { JobRow } from "../db/schema";
import type { AttemptEnd } from "../metrics/tally";
import type { AttemptOutcome } from "./attempt";
import type { Park } from "./step-runner";

export type LogLine = { level: "info" | "warn" | "error"; msg: string; fields: LogFields };

/**
 * After the outcome committed: ack the message, or ack it and send a fresh one for the next attempt, or (a park)
 * ack it and send the children it started and, when the wake is within the queue's delay, the job's own wake.
 */
export type AfterCommit =
  | { kind: "ack" }
  | { kind: "nextAttempt"; delaySeconds: number }
  | { kind: "park"; park: Park; wakeBySend: boolean };

export type Settlement =
  /** The run lost its claim: whoever took the job over records it; this run writes nothing and its message is acked. */
  | { kind: "drop"; log: LogLine }
  | {
      kind: "write";
      write: OutcomeWrite | ParkWrite;
      after: AfterCommit;
      /** A final status that owes the job's callbackUrl an event. */
      finished: "succeeded" | "dead" | null;
      /** How the attempt ended, for the counters; null for a park (not an attempt: none was spent). */
      end: AttemptEnd | null;
      durationMs: number;
      log: LogLine;
    };

export type SettleInput = {
  row: JobRow;
  ref: AttemptRef;
  options: JobOptions;
  outcome: AttemptOutcome;
  claimLost: boolean;
  finishedAt: number;
  random: () => number;
};

export function settle({ row, ref, options, outcome, claimLost, finishedAt, random }: SettleInput): Settlement {
  if (claimLost) {
    return {
      kind: "drop",
      log: {
        level: "warn",
        msg: "outcome dropped: the run lost its claim",
        fields: { durationMs: outcome.durationMs },
      },
    };
  }
  const base = { ref, at: finishedAt, progress: outcome.progress };
  if (outcome.parked) {
    const park = outcome.parked;
    // A wake within the queue's delay is a delayed message; a later one is released by the tick (watched).
    // A park on children alone has no wake time of its own (its runAt is a safety net): the last child wakes it.
    const timed = park.steps.some((step) => step.wakeAt !== null);
    const wakeBySend = timed && park.runAt - finishedAt <= MAX_QUEUE_DELAY_SECONDS * 1000;
    return {
      kind: "write",
      write: {
        kind: "park",
        ...base,
        waitingFor: JSON.stringify(park.waitingFor),
        runAt: park.runAt,
        watch: timed && !wakeBySend,
      },
      after: { kind: "park", park, wakeBySend },
      finished: null,
      end: null,
      durationMs: outcome.durationMs,
      log: {
        level: "info",
        msg: "job waiting",
        fields: { status: "waiting", durationMs: outcome.durationMs, waitingFor: park.waitingFor.kind },
      },
    };
  }
  if (outcome.ok) {
    return {
      kind: "write",
      write: { kind: "succeed", ...base, result: JSON.stringify(outcome.result) },
      after: { kind: "ack" },
      finished: "succeeded",
      end: "succeeded",
      durationMs: outcome.durationMs,
      log: { level: "info", msg: "job succeeded", fields: { status: "succeeded", durationMs: outcome.durationMs } },
    };
  }
  const attempt = ref.attempt;
  const error = errorJson(outcome.error, attempt, finishedAt);
  const attemptLog = JSON.stringify([
    ...(JSON.parse(row.attemptLog) as AttemptLogEntry[]),
    logEntry(outcome, attempt, ref.startedAt, finishedAt),
  ]);
  const message = describeError(outcome.error).message;
  const decision = decideAfterFailure(outcome.error, attempt, row.maxAttempts, options.backoff, random);
  if (decision.next === "retrying") {
    return {
      kind: "write",
      write: { kind: "retry", ...base, error, attemptLog, runAt: finishedAt + decision.delaySeconds * 1000 },
      after: { kind: "nextAttempt", delaySeconds: decision.delaySeconds },
      finished: null,
      end: "failed",
      durationMs: outcome.durationMs,
      log: {
        level: "warn",
        msg: "job failed; retrying",
        fields: {
          status: "retrying",
          durationMs: outcome.durationMs,
          delaySeconds: decision.delaySeconds,
          error: message,
        },
      },
    };
  }
  return {
    kind: "write",
    write: { kind: "dead", ...base, error, attemptLog },
    after: { kind: "ack" },
    finished: "dead",
    end: "dead",
    durationMs: outcome.durationMs,
    log: {
      level: "error",
      msg: "job dead",
      fields: { status: "dead", durationMs: outcome.durationMs, reason: decision.reason, error: message },
    },
  };
}

export function errorJson(err: unknown, attempt: number, at: number): string {
  return JSON.stringify({ ...describeError(err), attempt, at: new Date(at).toISOString() });
}

function logEntry(outcome: AttemptOutcome, attempt: number, startedAt: number, finishedAt: number): AttemptLogEntry {
  const error = outcome.ok ? null : describeError(outcome.error);
  return {
    attempt,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs: outcome.durationMs,
    outcome: error?.name === "TimeoutError" ? "timed_out" : "failed",
    error,
  };
}
