// Pure flow-control math for one key: which asking jobs may start (now or within a second), and when the rest come back.

/** Live limits for a key; a missing limit means that dimension is not limited. */
export type FlowLimits = {
  rate: { limit: number; periodSeconds: number } | null;
  concurrency: number | null;
};

/** Starts that still hold a token, grouped by instant: `[atMs, count]`, in time order. */
export type StartWindow = [number, number][];

export type FlowState = {
  window: StartWindow;
  /** Lease id (one per delivery) → when its slot lapses if nobody releases it (the job's timeout plus slack). */
  leases: Map<string, number>;
  /** Jobs deferred earlier and not started yet → when they were told to come back. They keep their place in line. */
  waiting: Map<string, number>;
  /** How long a slot is usually held, to guess when one frees up. */
  averageRunMs: number;
  /** How late deferred jobs usually come back after their delay (the queue's batch wait), to send them earlier. */
  returnLagMs: number;
};

/**
 * `leaseId` names one delivery of the job (default: the job id). Two deliveries of one job are two
 * asks for a slot, so a duplicate delivery can never run beside the first in the same slot.
 */
export type AskingJob = { id: string; leaseId?: string; leaseMs: number };
export const leaseIdOf = (job: AskingJob) => job.leaseId ?? job.id;

export type FlowDecision = {
  /** `startAt`: now without a rate; with one, the lead or the instant its token comes back (up to `inlineWaitMs` ahead). */
  admitted: { id: string; leaseId: string; startAt: number; leaseUntil: number }[];
  /** Whole seconds, as a queue message's delay. */
  deferred: { id: string; delaySeconds: number }[];
  /** The window after this decision, pruned and with the admitted starts added. */
  window: StartWindow;
};

/**
 * A job whose token comes back within a second, plus the time a deferral takes to come back late
 * (at most 4 s more), is admitted to start then: the consumer waits for it, since a deferral could
 * only come back after whole seconds plus the queue's batch wait.
 */
export function inlineWaitMs(returnLagMs: number): number {
  return 1000 + Math.min(4000, Math.max(0, returnLagMs));
}
/**
 * A rate-limited job starts at this long after the gate admits it, at the earliest. The consumer
 * claims it meanwhile, so a slow claim does not shift this start closer to the next ones: every
 * start follows the gate's schedule, whether its token was free or came back while it waited.
 */
export const START_LEAD_MS = 250;
/** Deferral delays stay within what a queue message can wait. */
export const MAX_DEFER_SECONDS = 12 * 3600;
/** Polling for a concurrency slot never waits longer than this, so a freed slot is not left idle for long. */
const MAX_SLOT_WAIT_MS = 5 * 60 * 1000;

/**
 * How long a start holds its token: the period plus a tenth of it (50 ms…1 s). The gate decides
 * before the consumer claims the job and calls the handler; the extra tenth absorbs that delay's
 * jitter, so handlers, not only the gate, see at most `limit` starts in any period.
 */
export function tokenHoldMs(periodSeconds: number): number {
  const periodMs = periodSeconds * 1000;
  return periodMs + Math.min(1000, Math.max(50, periodMs / 10));
}

/** Drops the starts whose hold has passed: a start at `t` stops counting at `t + holdMs`. */
export function pruneWindow(window: StartWindow, holdMs: number, now: number): StartWindow {
  return window.filter(([at]) => at + holdMs > now);
}

/** Records `count` starts at `at`, merged into the entry for the same instant if there is one; keeps time order. */
export function addStarts(window: StartWindow, at: number, count: number): StartWindow {
  const same = window.findIndex(([t]) => t === at);
  if (same >= 0) return window.map(([t, n], i): [number, number] => (i === same ? [t, n + count] : [t, n]));
  return [...window, [at, count] as [number, number]].sort((a, b) => a[0] - b[0]);
}

export const startsIn = (window: StartWindow) => window.reduce((sum, [, n]) => sum + n, 0);

/** Leases that have not lapsed; a lapsed one belonged to a consumer that died, and its slot is free again. */
export function liveLeases(leases: Map<string, number>, now: number): Map<string, number> {
  return new Map([...leases].filter(([, until]) => until > now));
}

/**
 * When each of the `limit` tokens is next free, earliest first. A window holding more starts than
 * the limit (the limit was lowered) leaves the surplus out: those tokens are not handed out again.
 */
function tokenTimes(window: StartWindow, limit: number, holdMs: number, now: number): number[] {
  const returns: number[] = [];
  for (const [at, n] of window) for (let i = 0; i < n; i++) returns.push(Math.max(now, at + holdMs));
  while (returns.length < limit) returns.push(now);
  returns.sort((a, b) => a - b);
  return returns.slice(returns.length - limit);
}

/**
 * Admits jobs while both limits allow, those that waited longest first, and gives each denied job
 * a delay from its place in line: behind every job told to come back before it.
 * The rate limit is a sliding window (at most `limit` starts in any `periodSeconds`): each spent
 * token comes back one hold (`tokenHoldMs`) after its start, which bounds every window, not only aligned ones.
 */
export function decide(
  limits: FlowLimits,
  state: FlowState,
  jobs: AskingJob[],
  now: number,
  inlineWait = inlineWaitMs(state.returnLagMs),
): FlowDecision {
  const holdMs = limits.rate ? tokenHoldMs(limits.rate.periodSeconds) : 0;
  let window = limits.rate ? pruneWindow(state.window, holdMs, now) : [];
  const tokens = limits.rate ? tokenTimes(window, limits.rate.limit, holdMs, now) : [];
  const leases = liveLeases(state.leases, now);
  const asking = new Set(jobs.map((j) => j.id));
  // A delivery that asks again while holding a live lease (the same message redelivered) reuses its own slot.
  const askingLeases = new Set(jobs.map(leaseIdOf));
  const othersRunning = [...leases.keys()].filter((id) => !askingLeases.has(id)).length;
  let slotsFree = limits.concurrency == null ? Number.POSITIVE_INFINITY : limits.concurrency - othersRunning;

  // Returning jobs in the order they were told to come back, then new ones in the order given.
  const since = (job: AskingJob) => state.waiting.get(job.id) ?? Number.POSITIVE_INFINITY;
  const line = jobs.map((job, i) => ({ job, i })).sort((a, b) => since(a.job) - since(b.job) || a.i - b.i);

  const admitted: FlowDecision["admitted"] = [];
  const denied: AskingJob[] = [];
  for (const { job } of line) {
    // Tokens are taken earliest first; a taken token is free again one hold after its start.
    const tokenAt = limits.rate ? (tokens[0] ?? now) : now;
    const startAt = limits.rate ? Math.max(now + START_LEAD_MS, tokenAt) : now;
    if (slotsFree > 0 && tokenAt - now <= inlineWait) {
      admitted.push({ id: job.id, leaseId: leaseIdOf(job), startAt, leaseUntil: startAt + job.leaseMs });
      slotsFree--;
      if (limits.rate) {
        tokens.shift();
        insertSorted(tokens, startAt + holdMs);
        window = addStarts(window, startAt, 1);
      }
    } else denied.push(job);
  }

  const othersWaiting = [...state.waiting]
    .filter(([id]) => !asking.has(id))
    .map(([, until]) => until)
    .sort((a, b) => a - b);
  const positions = denied.map((job, j) => countBelow(othersWaiting, since(job)) + j);
  const tokenWaits = limits.rate ? lineWaits(tokens, holdMs, Math.max(0, ...positions) + 1, now) : [];
  const deferred = denied.map((job, j) => {
    const position = positions[j] ?? 0;
    // Come back a little before the token is free (after the usual lag): the inline wait covers the rest.
    const rateSeconds = Math.floor(Math.max(0, (tokenWaits[position] ?? 0) - state.returnLagMs) / 1000);
    const slotSeconds =
      limits.concurrency != null && slotsFree <= 0
        ? Math.ceil(
            Math.min(MAX_SLOT_WAIT_MS, state.averageRunMs * (Math.floor(position / limits.concurrency) + 1)) / 1000,
          )
        : 0;
    return { id: job.id, delaySeconds: Math.min(MAX_DEFER_SECONDS, Math.max(1, rateSeconds, slotSeconds)) };
  });
  return { admitted, deferred, window };
}

/**
 * How long the jobs at positions 0…count-1 in line wait for a token, given when each token is next
 * free (earliest first). Each token serves the line in turn, one hold per round.
 */
export function lineWaits(tokens: number[], holdMs: number, count: number, now: number): number[] {
  const limit = tokens.length;
  const waits: number[] = [];
  for (let p = 0; p < count; p++) {
    const token = tokens[p % limit] ?? now;
    waits.push(Math.max(0, token + Math.floor(p / limit) * holdMs - now));
  }
  return waits;
}

function insertSorted(values: number[], value: number) {
  values.splice(countBelow(values, value), 0, value);
}

/** How many of the sorted `values` are below `limit`. */
function countBelow(values: number[], limit: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] ?? 0) < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Moving average of how late deferred jobs come back after the delay they were given (capped at 10 s). */
export function nextReturnLagMs(previous: number, lateMs: number[]): number {
  let average = previous;
  for (const late of lateMs) average = average * 0.8 + Math.min(10_000, Math.max(0, late)) * 0.2;
  return Math.round(average);
}

/** Moving average of how long slots are held, so a guess follows the key's recent jobs. */
export function nextAverageRunMs(previous: number, heldMs: number[]): number {
  let average = previous;
  for (const held of heldMs) average = average * 0.8 + Math.max(0, held) * 0.2;
  return Math.round(average);
}
