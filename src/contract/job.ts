// The Job shape of the public contract, written once: statuses, options, the callback state, the queue message, defaults.
import type { z } from "@hono/zod-openapi";
import type { JobSchema } from "./schemas";

export const JOB_STATUSES = [
  "scheduled",
  "queued",
  "running",
  "retrying",
  "waiting",
  "succeeded",
  "dead",
  "cancelled",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINISHED_STATUSES: readonly JobStatus[] = ["succeeded", "dead", "cancelled"];

export type Backoff = {
  type: "exponential" | "fixed";
  delaySeconds: number;
  maxDelaySeconds?: number;
  jitter?: boolean;
};

export type FlowSettings = {
  key: string;
  rate?: { limit: number; periodSeconds: number };
  concurrency?: number;
};

/** A debounced job's window settings (enqueue `debounce`); the consumer always claims such a job before it runs. */
export type DebounceSettings = { key: string; seconds: number; maxWaitSeconds?: number };

/** What shapes each attempt; stored with the job so a later deploy cannot change a queued job's rules. */
export type JobOptions = {
  backoff: Backoff;
  timeoutSeconds: number;
  flow?: FlowSettings | null;
  /** Set on debounced jobs only (src/service/debounce.ts); plain jobs never carry it. */
  debounce?: DebounceSettings | null;
};

export type JobError = { message: string; name: string; attempt: number; at: string };

export type AttemptLogEntry = {
  attempt: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  outcome: "failed" | "deferred" | "timed_out";
  error: { message: string; name: string } | null;
};

/** The public Job: the contract's JobSchema is its one definition (its fields line up with the types above). */
export type Job = z.infer<typeof JobSchema>;

/** Which event a completion callback reports. */
export type CallbackEvent = "job.succeeded" | "job.dead";

export type CallbackState = {
  status: "pending" | "delivered" | "failed";
  event: CallbackEvent;
  /** Stays the same across every attempt of this delivery, so receivers can drop duplicates. */
  webhookId: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
};

/** A queue message carries ids only: the consumer reads the record from D1. */
/** A job's queue message: ids only (D1 holds the job). `queue` names the job's lane; absent for the default lane. */
export type JobMessage = { tenant: string; id: string; queue?: string };

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_TIMEOUT_SECONDS = 60;
export const DEFAULT_BACKOFF: Backoff = {
  type: "exponential",
  delaySeconds: 30,
  maxDelaySeconds: 3600,
  jitter: true,
};
/** Queues accept delays up to 12 h; anything longer waits as a `scheduled` row for the tick. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;
export const MAX_DELAY_SECONDS = 365 * 24 * 3600;
