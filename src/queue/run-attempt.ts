// Runs one attempt of a job's handler under its timeout, and reports how it ended. Never throws.
import type { JobDefinition } from "../jobs/define-job";
import { NonRetryableError, TimeoutError } from "../jobs/errors";
import type { Logger } from "../jobs/logger";

export type AttemptOutcome =
  | { ok: true; result: unknown; progress: number | null; durationMs: number }
  | { ok: false; error: unknown; progress: number | null; durationMs: number };

export type AttemptInput = {
  definition: JobDefinition;
  payload: unknown;
  jobId: string;
  tenant: string;
  attempt: number;
  timeoutSeconds: number;
  env: Env;
  log: Logger;
};

export async function runAttempt(input: AttemptInput): Promise<AttemptOutcome> {
  const started = Date.now();
  let progress: number | null = null;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(`attempt timed out after ${input.timeoutSeconds}s`);
      controller.abort(error);
      reject(error);
    }, input.timeoutSeconds * 1000);
  });
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
    // A handler that outlives its timeout may still fail later; that failure belongs to no one now.
    running.catch(() => {});
    const result = await Promise.race([running, timedOut]);
    return { ok: true, result: result ?? null, progress, durationMs: Date.now() - started };
  } catch (error) {
    return { ok: false, error, progress, durationMs: Date.now() - started };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
