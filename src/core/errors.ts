// Errors by intent: what a handler throws decides whether the job is retried.

/** Thrown by a handler when retrying cannot help: the job goes straight to `dead`. */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
}

/** An attempt ran past its timeoutSeconds. Retryable. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * A handler may ask for a specific wait before the next attempt (an `http` target's Retry-After).
 * The longer of this and the backoff wins.
 */
export class RetryAfterError extends Error {
  override name = "RetryAfterError";
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export function describeError(err: unknown): { message: string; name: string } {
  if (err instanceof Error) return { message: err.message || err.name, name: err.name };
  return { message: String(err), name: "Error" };
}
