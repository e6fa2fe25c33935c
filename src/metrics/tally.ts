// Per-batch counters: what one consumer batch did, per (tenant, type), ready to add to metrics_minute in one upsert each.
import { type Buckets, bucketIndex, emptyBuckets } from "./buckets";

/** How an attempt ended: succeeded, failed (will retry), dead; `deferred` is a flow-control wait, not an attempt. */
export type AttemptEnd = "succeeded" | "failed" | "dead";

export type Counters = {
  started: number;
  succeeded: number;
  failed: number;
  dead: number;
  deferred: number;
  durationMsSum: number;
  buckets: Buckets;
};

export type TallyEntry = { tenant: string; type: string; counters: Counters };

export type Tally = {
  /** An attempt that ran: counts as started, with its outcome and duration. */
  attempt(tenant: string, type: string, end: AttemptEnd, durationMs: number): void;
  /** A job that went dead without running (e.g. its type is not registered here). */
  deadWithoutAttempt(tenant: string, type: string): void;
  /** A job put back by flow control: not an attempt. */
  deferred(tenant: string, type: string): void;
  entries(): TallyEntry[];
};

/** All counters at zero: a fresh tally entry, or a minute in which nothing happened. */
export const zeroCounters = (): Counters => ({
  started: 0,
  succeeded: 0,
  failed: 0,
  dead: 0,
  deferred: 0,
  durationMsSum: 0,
  buckets: emptyBuckets(),
});

export function createTally(): Tally {
  const byKey = new Map<string, TallyEntry>();
  const countersOf = (tenant: string, type: string): Counters => {
    const key = JSON.stringify([tenant, type]);
    let entry = byKey.get(key);
    if (!entry) {
      entry = { tenant, type, counters: zeroCounters() };
      byKey.set(key, entry);
    }
    return entry.counters;
  };
  return {
    attempt(tenant, type, end, durationMs) {
      const c = countersOf(tenant, type);
      const ms = Math.max(0, Math.round(durationMs));
      c.started += 1;
      c[end] += 1;
      c.durationMsSum += ms;
      const i = bucketIndex(ms);
      c.buckets[i] = (c.buckets[i] ?? 0) + 1;
    },
    deadWithoutAttempt(tenant, type) {
      countersOf(tenant, type).dead += 1;
    },
    deferred(tenant, type) {
      countersOf(tenant, type).deferred += 1;
    },
    entries: () => [...byKey.values()],
  };
}

/** The minute a timestamp falls in, as whole minutes since the epoch: metrics_minute's `minute` column. */
export const minuteOf = (ms: number) => Math.floor(ms / 60_000);
