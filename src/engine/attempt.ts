// The attempt stage: runs one attempt of a handler under its (capped) timeout and its claim, and reports how it ended. Never throws.
import type { JobDefinition } from "../core/define-job";
import { NonRetryableError, TimeoutError } from "../core/errors";
import type { Logger } from "../core/logger";
import type { StepApi } from "../core/steps";
import { Deadlines } from "./deadlines";
import { effectiveTimeoutSeconds } from "./limits";
import { type Park, RunParkedError } from "./step-runner";

export type AttemptOutcome =
  | { ok: true; result: unknown; progress: number | null; durationMs: number; parked?: undefined }
  | { ok: false; error: unknown; progress: number | null; durationMs: number; parked?: undefined }
  /** The handler waits on steps (a sleep, an event, children): the run ends without spending an attempt. */
  | { ok: false; parked: Park; error: null; progress: number | null; durationMs: number };

/** ctx.step of one attempt, made on the handler's first use: its api, and the step rule it broke, if any. */
export type StepSession = { readonly api: StepApi; readonly broken: Error | undefined };
/** Makes the attempt's StepSession; `onPark` ends the run parked (called once, when every pending step waits). */
export type StepSessionFactory = (onPark: (park: Park) => void) => StepSession;

/** The signal value that says the run parked (compared by identity, so the race needs no wrapper promise). */
const PARKED = Symbol("parked");

/** The run lost its claim (another delivery or a manual retry took the job over): it stops, and its outcome is dropped. */
export class ClaimLostError extends Error {
  override name = "ClaimLostError";
}

/**
 * An attempt's one AbortController (its ctx.signal), which ends the attempt on its timeout or a lost claim.
 * The attempt is settled before the abort runs the handler's listeners: a handler that rejects with its own
 * error on abort must not win the race, so a timeout is always recorded as one.
 */
export class AttemptStop {
  private readonly controller = new AbortController();
  private reason: Error | undefined;
  private ended = false;
  private settle: ((error: Error) => void) | undefined;
  private unfollow: (() => void) | undefined;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Ends the attempt with `error`, then aborts ctx.signal; once stopped or ended, does nothing. */
  stop(error: Error): void {
    if (this.reason || this.ended) return;
    this.reason = error;
    this.settle?.(error);
    this.controller.abort(error);
  }

  /** Rejects with the reason the attempt was stopped, once it is. */
  stopped(): Promise<never> {
    return new Promise<never>((_, reject) => {
      if (this.reason) reject(this.reason);
      else this.settle = reject;
    });
  }

  /** Stops the attempt when `claim` aborts (its claim was lost elsewhere), until the attempt ends. */
  follow(claim: AbortSignal): void {
    const onAbort = () => this.stop(new ClaimLostError("another delivery or a retry by hand took the job over"));
    if (claim.aborted) onAbort();
    else {
      claim.addEventListener("abort", onAbort, { once: true });
      this.unfollow = () => claim.removeEventListener("abort", onAbort);
    }
  }

  /** The attempt is over: a claim lost from now on concerns no running handler. */
  end(): void {
    this.ended = true;
    this.settle = undefined;
    this.unfollow?.();
  }
}

export type AttemptInput = {
  definition: JobDefinition;
  payload: unknown;
  jobId: string;
  tenant: string;
  attempt: number;
  /** As the job asks; the attempt runs at most MAX_ATTEMPT_SECONDS. */
  timeoutSeconds: number;
  /** Aborts the attempt from outside: its claim was lost (the engine calls `stop.stop` instead). */
  claim?: AbortSignal;
  /** The attempt's stop and ctx.signal; a fresh one if not given. */
  stop?: AttemptStop;
  /** The timer the timeout is armed on, shared by a batch's attempts; a fresh one if not given. */
  deadlines?: Deadlines;
  /** ctx.step's store and wiring; without it ctx.step refuses every step. Made lazily, on the handler's first use. */
  steps?: StepSessionFactory;
  env: Env;
  log: Logger;
};

export async function runAttempt(input: AttemptInput): Promise<AttemptOutcome> {
  const started = Date.now();
  const timeoutSeconds = effectiveTimeoutSeconds(input.timeoutSeconds);
  let progress: number | null = null;
  const stop = input.stop ?? new AttemptStop();
  const deadlines = input.deadlines ?? new Deadlines();
  const timeout = deadlines.add(started + timeoutSeconds * 1000, () =>
    stop.stop(new TimeoutError(`attempt timed out after ${timeoutSeconds}s`)),
  );
  if (input.claim) stop.follow(input.claim);
  const stopped = stop.stopped();
  stopped.catch(() => {});
  let session: StepSession | undefined;
  let park: Park | undefined;
  let parkedSignal: ((value: typeof PARKED) => void) | undefined;
  const parked = new Promise<typeof PARKED>((resolve) => {
    parkedSignal = resolve;
  });
  const onPark = (value: Park) => {
    park = value;
    parkedSignal?.(PARKED);
  };
  const steps = input.steps ?? noSteps;
  try {
    const parsed = input.definition.input.safeParse(input.payload);
    if (!parsed.success) {
      throw new NonRetryableError(
        `payload no longer matches job type "${input.definition.type}": ${parsed.error.message}`,
      );
    }
    const running = Promise.resolve(
      input.definition.run(parsed.data, {
        jobId: input.jobId,
        type: input.definition.type,
        attempt: input.attempt,
        tenant: input.tenant,
        env: input.env,
        signal: stop.signal,
        log: input.log,
        progress(percent: number) {
          progress = Math.max(0, Math.min(100, Math.round(percent)));
        },
        get step() {
          session ??= steps(onPark);
          return session.api;
        },
      }),
    );
    // A handler that outlives its attempt may still fail later; that failure belongs to no one now.
    running.catch(() => {});
    const result = await Promise.race([running, stopped, parked]);
    // A step rule broken is final even when the handler caught its StepRuleError.
    if (session?.broken) throw session.broken;
    if (result === PARKED && park) {
      // The run is over while its handler may still be busy beside the wait: ctx.signal tells it to stop.
      stop.stop(new RunParkedError("the run parked: it resumes once its wait is over"));
      return { ok: false, parked: park, error: null, progress, durationMs: Date.now() - started };
    }
    return { ok: true, result: result ?? null, progress, durationMs: Date.now() - started };
  } catch (error) {
    if (session?.broken) return { ok: false, error: session.broken, progress, durationMs: Date.now() - started };
    return { ok: false, error, progress, durationMs: Date.now() - started };
  } finally {
    deadlines.remove(timeout);
    stop.end();
  }
}

const noSteps: StepSessionFactory = () => {
  const refuse = () => Promise.reject(new Error("ctx.step is not available in this run"));
  return {
    broken: undefined,
    api: { run: refuse, sleep: refuse, sleepUntil: refuse, waitForEvent: refuse, invoke: refuse },
  };
};
