// The consumer's clocks and bounds: when a running job is claimed, how often outcomes commit, how long an attempt may run.

/**
 * A job is claimed in D1 only if its handler is still running this long after the batch started, so
 * the common fast job writes one row to finish instead of two (claim + outcome). The first wave of
 * outcomes commits then, with the claims of the jobs still running (or earlier, once every job is done).
 */
export const CLAIM_AFTER_MS = 1_000;
/** After the first wave, outcomes commit at most this often while jobs keep finishing. */
export const WAVE_EVERY_MS = 250;
/** A claim whose write failed is tried again after this long (with the next wave, or on its own). */
export const CLAIM_RETRY_MS = 5_000;
/** A claim outlives the attempt's timeout by this much before another delivery may take the job over. */
export const LEASE_SLACK_MS = 15_000;
/** When an outcome write fails, its message comes back after this delay (the queue's retry: the consumer failed on it). */
export const WRITE_FAILURE_RETRY_SECONDS = 10;
/** When a write needed before a run fails, the job waits this long (ack + re-send) and is triaged again. */
export const EARLY_FAILURE_WAIT_SECONDS = 10;
/**
 * The longest an attempt may run: a queue consumer invocation has 15 minutes (900 s) of wall clock, and
 * the batch also needs time to load, ask the flow gates, wait its turn and commit the last wave. The API
 * accepts timeoutSeconds 1…900; anything above this cap runs with the cap (60 s of headroom).
 */
export const MAX_ATTEMPT_SECONDS = 840;

export const effectiveTimeoutSeconds = (requested: number) =>
  Math.min(MAX_ATTEMPT_SECONDS, Math.max(1, Math.floor(requested)));

/** How long a claim holds the job: the attempt's (capped) timeout plus slack. */
export const leaseMsFor = (timeoutSeconds: number) => effectiveTimeoutSeconds(timeoutSeconds) * 1000 + LEASE_SLACK_MS;

/** A job the queue gave up on this many times is dead, even with attempts left: something about it keeps the consumer failing. */
export const MAX_DEAD_LETTER_RETURNS = 3;
