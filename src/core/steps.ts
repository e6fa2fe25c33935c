// Durable steps (ctx.step): the API a workflow handler sees, what a parked job waits for, and the rules every step obeys.
import type { EnqueueInput } from "../contract/schemas";
import { NonRetryableError } from "./errors";

/** JSON a step may return and store. */
export type StepJson = null | boolean | number | string | StepJson[] | { [key: string]: StepJson };

/** What a child job is started with: an enqueue request without the fields a child cannot set. */
export type InvokeOptions = Omit<
  EnqueueInput,
  "idempotencyKey" | "idempotencyTtlSeconds" | "delaySeconds" | "runAt" | "debounce"
>;

/**
 * `ctx.step`: each step is memoized by its name in D1 (table job_steps). A re-run of the handler (a retry, a crash,
 * a wake) skips every finished step and gets its stored result. Names are unique within a job.
 */
export type StepApi = {
  /** Runs `fn` once and stores its JSON result; a re-run returns the stored result without calling `fn`. */
  run<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /** Parks the job as `waiting` (no attempt used, no consumer held) for `seconds` (up to 365 days). */
  sleep(name: string, seconds: number): Promise<void>;
  /** Parks the job until `until` (at most 365 days ahead); a time already past returns at once. */
  sleepUntil(name: string, until: Date | string | number): Promise<void>;
  /** The data of the first matching event (POST /v1/events), or null when none came within `timeoutSeconds`. */
  waitForEvent<T = StepJson>(
    name: string,
    wait: { event: string; key?: string; timeoutSeconds: number },
  ): Promise<T | null>;
  /** Starts a child job (parentId = this job) and resolves to its result; a dead or cancelled child throws ChildJobFailedError. */
  invoke<T = StepJson>(name: string, child: InvokeOptions): Promise<T>;
};

export type StepKind = "run" | "sleep" | "event" | "invoke";
export type StepStatus = "waiting" | "succeeded" | "failed" | "timed_out";

/** What a `waiting` job is parked on (its `waitingFor`). */
export type WaitingFor =
  | { kind: "sleep"; until: string }
  | { kind: "event"; event: string; key?: string; until: string }
  | { kind: "invoke"; jobIds: string[] };

/** An event is kept this long, so a waiter that starts waiting just after it still gets it. */
export const EVENT_LOOKBACK_MS = 60_000;
/** A step's stored result (JSON text), at most this many bytes: a step is a checkpoint, not blob storage. */
export const MAX_STEP_RESULT_BYTES = 64 * 1024;
/** Step names: short, printable, unique within a job. */
export const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,99}$/;
/** How many steps one job may record (each is a row; a loop that names steps by index ends here). */
export const MAX_STEPS_PER_JOB = 1000;

/** A dead or cancelled child job, thrown by `ctx.step.invoke`; the parent decides what happens next. */
export class ChildJobFailedError extends Error {
  override name = "ChildJobFailedError";
  constructor(
    message: string,
    readonly childId: string,
    readonly childStatus: "dead" | "cancelled",
    readonly childError: { message: string; name: string } | null,
  ) {
    super(message);
  }
}

/** A workflow broke a step rule (a name used twice, a bad name, a result too large or not JSON): retrying cannot help. */
export class StepRuleError extends NonRetryableError {
  override name = "StepRuleError";
}
