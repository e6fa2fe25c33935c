// Triage, pure: what to do with each delivery given the job's row — ack it, let it wait, dead-letter the job, or run it.

import { FINISHED_STATUSES, type JobError, type JobOptions, MAX_QUEUE_DELAY_SECONDS } from "../contract/job";
import type { JobDefinition } from "../core/define-job";
import type { JobRow } from "../db/schema";

export type Triage =
  /** Nothing to do: the job is gone, finished, not due, or another message of this batch carries it. */
  | { kind: "ack"; reason: string }
  /** Not a failed attempt: ack and re-send after `delaySeconds`, so the queue's retry budget is never spent on it. */
  | { kind: "wait"; delaySeconds: number; reason: string }
  /** The job can never run here: mark it dead without running it. */
  | { kind: "deadLetter"; reason: "unregistered_type" | "attempts_exhausted"; error: JobError }
  /**
   * Run it. `claimFirst`: the queue brought this message back, or the job is still marked running by a
   * delivery whose lease lapsed, so an earlier run may have died in the handler; the attempt is claimed (and
   * counted) before it runs, so a crash loop ends after maxAttempts claimed runs.
   */
  | { kind: "run"; definition: JobDefinition; options: JobOptions; claimFirst: boolean };

/** A debounced job's message may come before the start a later enqueue moved it to; this much earlier still runs it. */
export const DEBOUNCE_EARLY_MS = 250;

/** A message for a `waiting` job due within this long comes back then (a wake a little early); earlier ones are acked. */
export const WAITING_RECHECK_MS = 60_000;

/**
 * A workflow job that parked: still `waiting` (due), or woken back to `queued` with the start of its parked run kept
 * (a plain queued job has never started: enqueues and retries by hand clear startedAt).
 */
const wasParked = (row: JobRow) => row.status === "waiting" || (row.status === "queued" && row.startedAt !== null);

export type TriageInput = {
  row: JobRow | undefined;
  /** The queue's delivery count for this message (1 on its first delivery). */
  deliveryAttempts: number;
  /** Another message of this batch names the same job and was triaged first. */
  duplicateInBatch: boolean;
  definition: JobDefinition | undefined;
  now: number;
};

export function triage({ row, deliveryAttempts, duplicateInBatch, definition, now }: TriageInput): Triage {
  if (!row) return { kind: "ack", reason: "the job no longer exists" };
  if (duplicateInBatch) return { kind: "ack", reason: "another message of this batch carries the job" };
  if (FINISHED_STATUSES.includes(row.status as never)) return { kind: "ack", reason: `the job is ${row.status}` };
  if (row.status === "scheduled") return { kind: "ack", reason: "the job is scheduled for later; the tick sends it" };
  if (row.status === "waiting" && row.runAt > now) {
    // A parked workflow job is not due: its wake comes as its own message, an event, a child, or the tick.
    const aheadMs = row.runAt - now;
    if (aheadMs > WAITING_RECHECK_MS) return { kind: "ack", reason: "the job is waiting and not due" };
    return {
      kind: "wait",
      delaySeconds: Math.max(1, Math.ceil(aheadMs / 1000)),
      reason: "the job is waiting and due soon",
    };
  }
  if (row.status === "running" && (row.leaseUntil ?? 0) >= now) {
    // Another delivery holds the job; come back when its lease would lapse, in case it died.
    const delaySeconds = Math.max(1, Math.ceil(((row.leaseUntil ?? now) - now) / 1000) + 1);
    return { kind: "wait", delaySeconds, reason: "another delivery holds the job" };
  }
  if (!definition) {
    const message = `job type "${row.type}" is not registered in this deployment`;
    return {
      kind: "deadLetter",
      reason: "unregistered_type",
      error: { name: "NonRetryableError", message, attempt: row.attempts, at: new Date(now).toISOString() },
    };
  }
  if (row.attempts >= row.maxAttempts) {
    const message = `all ${row.maxAttempts} attempts were used up: the last one never reported an outcome (its consumer crashed or ran out of time)`;
    return {
      kind: "deadLetter",
      reason: "attempts_exhausted",
      error: { name: "AttemptsExhaustedError", message, attempt: row.attempts, at: new Date(now).toISOString() },
    };
  }
  const options = JSON.parse(row.options) as JobOptions;
  if (options.debounce && row.status === "queued" && row.runAt > now + DEBOUNCE_EARLY_MS) {
    const delaySeconds = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil((row.runAt - now) / 1000));
    return { kind: "wait", delaySeconds, reason: "debounced: a later enqueue moved its start" };
  }
  return {
    kind: "run",
    definition,
    options,
    // A debounced job's payload can be replaced until it is claimed: claiming first makes the run see the last one.
    // A parked or woken workflow job may have more than one message out (its own wake, an early timeout's, a re-send):
    // the claim makes sure only one delivery runs its steps.
    claimFirst: deliveryAttempts > 1 || row.status === "running" || options.debounce != null || wasParked(row),
  };
}
