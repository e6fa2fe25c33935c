// The attempt stage: runs one attempt of a handler under its (capped) timeout and its claim, and reports how it ended. Never throws.
import type { JobDefinition } from "../core/define-job";
import { NonRetryableError, TimeoutError } from "../core/errors";
import type { Logger } from "../core/logger";
import { effectiveTimeoutSeconds } from "./limits";

export type AttemptOutcome =
  | { ok: true; result: unknown; progress: number | null; durationMs: number }
  | { ok: false; error: unknown; progress: number | null; durationMs: number };

/** The run lost its claim (another delivery or a manual retry took the job over): it stops, and its outcome is dropped. */
export class ClaimLostError extends Error {
  override name = "ClaimLostError";
}

export type AttemptInput = {
  definition: JobDefinition;
  payload: unknown;
  jobId: string;
  tenant: string;
  attempt: number;
  /** As the job asks; the attempt runs at most MAX_ATTEMPT_SECONDS. */
  timeoutSeconds: number;
  /** Aborts the attempt from outside: its claim was lost. */
  claim: AbortSignal;
  env: Env;
  log: Logger;
};

export async function runAttempt(input: AttemptInput): Promise<AttemptOutcome> {
  const started = Date.now();
  const timeoutSeconds = effectiveTimeoutSeconds(input.timeoutSeconds);
  let progress: number | null = null;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onClaimLost: (() => void) | undefined;
  // Ends the attempt on its timeout or on a lost claim; ctx.signal tells the handler either way.
  const stopped = new Promise<never>((_, reject) => {
    // Settled before the abort runs the handler's listeners: a handler that rejects with its own error on abort
    // must not win the race, so a timeout is always recorded as one.
    const stop = (error: Error) => {
      reject(error);
      controller.abort(error);
    };
    timer = setTimeout(
      () => stop(new TimeoutError(`attempt timed out after ${timeoutSeconds}s`)),
      timeoutSeconds * 1000,
    );
    onClaimLost = () => stop(new ClaimLostError("another delivery or a retry by hand took the job over"));
    if (input.claim.aborted) onClaimLost();
    else input.claim.addEventListener("abort", onClaimLost, { once: true });
  });
  stopped.catch(() => {});
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
        signal: controller.signal,
        log: input.log,
        progress(percent: number) {
          progress = Math.max(0, Math.min(100, Math.round(percent)));
        },
      }),
    );
    // A handler that outlives its attempt may still fail later; that failure belongs to no one now.
    running.catch(() => {});
    const result = await Promise.race([running, stopped]);
    return { ok: true, result: result ?? null, progress, durationMs: Date.now() - started };
  } catch (error) {
    return { ok: false, error, progress, durationMs: Date.now() - started };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onClaimLost) input.claim.removeEventListener("abort", onClaimLost);
  }
}
