// runJob: one attempt of a job type through the engine's own attempt code, and where that outcome would lead the job.
import type { z } from "zod";
import { DEFAULT_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_SECONDS } from "../contract/job";
import type { JobDefinition } from "../core/define-job";
import { describeError } from "../core/errors";
import { newId } from "../core/ids";
import { type Logger, log } from "../core/logger";
import { decideAfterFailure } from "../core/state";
import { runAttempt } from "../engine/attempt";
import { type MemoryStepOptions, memorySteps } from "./memory-steps";

export type RunJobOptions<E> = {
  /** The Worker's env as the job's ctx.env sees it; in a vitest-plugin test, `env` from "cloudflare:workers". */
  env: E;
  /** Which attempt this is (default 1): with `maxAttempts` it decides whether a failure is final. */
  attempt?: number;
  /** Default: the definition's maxAttempts, else 5, as an enqueue without maxAttempts would get. */
  maxAttempts?: number;
  /** Default: the definition's timeoutSeconds, else 60 (the engine caps it at 840). */
  timeoutSeconds?: number;
  tenant?: string;
  jobId?: string;
  log?: Logger;
  /** The retry delay's jitter (default Math.random). */
  random?: () => number;
  /** ctx.step in memory (see memory-steps.ts): sleeps end at once, events and child results are given here. */
  steps?: MemoryStepOptions;
};

type OutcomeBase = { attempt: number; progress: number | null; durationMs: number };
export type JobError = { name: string; message: string };

export type JobOutcome<Result> =
  | (OutcomeBase & { status: "succeeded"; result: Result; error: null })
  /** The job would be retried after `retryInSeconds`. */
  | (OutcomeBase & { status: "failed"; result: null; error: JobError; retryInSeconds: number })
  | (OutcomeBase & {
      status: "dead";
      result: null;
      error: JobError;
      reason: "non_retryable" | "attempts_exhausted";
    });

/** A payload this job type would refuse at enqueue: the API answers 400 to it and nothing runs. */
export class InvalidPayloadError extends Error {
  override name = "InvalidPayloadError";
}

/**
 * Runs one attempt of `definition` on `payload` as the consumer would (payload stored as JSON and re-validated,
 * timeout, ctx), without D1 or the queue. Throws InvalidPayloadError where the enqueue would refuse the payload.
 */
export async function runJob<Schema extends z.ZodType, Result, E>(
  definition: JobDefinition<Schema, Result, E>,
  payload: z.input<Schema>,
  options: RunJobOptions<E>,
): Promise<JobOutcome<Result>> {
  const checked = definition.input.safeParse(payload);
  if (!checked.success) {
    throw new InvalidPayloadError(`payload does not match job type "${definition.type}": ${checked.error.message}`);
  }
  const attempt = options.attempt ?? 1;
  const jobId = options.jobId ?? newId("job", Date.now());
  const tenant = options.tenant ?? "test";
  const outcome = await runAttempt({
    // The engine names env by the bindings it reads; the handler gets the caller's env as it is.
    definition: definition as unknown as JobDefinition,
    // Stored as JSON text at enqueue and parsed back for the run, so a value JSON cannot carry fails here too.
    payload: JSON.parse(JSON.stringify(payload ?? {})),
    jobId,
    tenant,
    attempt,
    timeoutSeconds: options.timeoutSeconds ?? definition.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    claim: new AbortController().signal,
    env: options.env as unknown as Env,
    log: options.log ?? log.child({ jobId, type: definition.type, tenant, attempt }),
    steps: () => memorySteps(options.steps),
  });
  const base = { attempt, progress: outcome.progress, durationMs: outcome.durationMs };
  if (outcome.ok) {
    // The stored result is its JSON: what a caller reading the job back would see.
    const result = JSON.parse(JSON.stringify(outcome.result ?? null)) as Result;
    return { ...base, status: "succeeded", result, error: null };
  }
  const error = describeError(outcome.error);
  const maxAttempts = options.maxAttempts ?? definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoff = definition.backoff ?? DEFAULT_BACKOFF;
  const decision = decideAfterFailure(outcome.error, attempt, maxAttempts, backoff, options.random ?? Math.random);
  if (decision.next === "retrying") {
    return { ...base, status: "failed", result: null, error, retryInSeconds: decision.delaySeconds };
  }
  return { ...base, status: "dead", result: null, error, reason: decision.reason };
}
