// The tick's retention phase: delete finished batches and jobs past their retention, a bounded page of tenants per tick, and old events.

import { configOf } from "../core/config";
import { idFloor } from "../core/ids";
import { EVENT_LOOKBACK_MS } from "../core/steps";
import { pruneBatchesStatement } from "../db/batch-statements";
import { pruneEventsStatement } from "../db/event-statements";
import { prunePage } from "../db/tenant-sweeps";
import { MAX_ATTEMPT_SECONDS } from "../engine/limits";
import { minuteOf } from "../metrics/tally";

/**
 * Events are kept this much past the lookback: a wait looks back from when the handler called it, which is up to an
 * attempt's longest run before its park, and a park on another isolate's slightly late clock (a minute) still finds them.
 */
export const EVENT_PRUNE_MARGIN_MS = MAX_ATTEMPT_SECONDS * 1000 + 60_000;
/** Events deleted per tick at most: a sustained rate above this per minute grows the table (lookups stay correct). */
export const EVENT_PRUNE_PAGE = 10_000;
/** Rows deleted per tenant per visit: with up to PRUNE_TENANT_PAGE tenants, 720,000 a day each at one tick a minute. */
export const PRUNE_PAGE = 500;
/** Batch rows deleted per tenant per tick at most (finished, past retention, with no job left). */
export const BATCH_PRUNE_PAGE = 100;
/** Tenants pruned per tick; past that many tenants each one is visited every ceil(tenants / page) ticks. */
export const PRUNE_TENANT_PAGE = 100;
const DAY_MS = 86_400_000;
/** Per-minute counters are kept a day; nothing reads further back than an hour. */
const COUNTER_RETENTION_MINUTES = 24 * 60;

export function retention(env: Env): { finishedDays: number; deadDays: number } {
  const { finished, dead } = configOf(env).retentionDays;
  return { finishedDays: finished, deadDays: dead };
}

/**
 * One page of tenants per tick (cursor in D1): up to BATCH_PRUNE_PAGE finished batches per tenant past retention whose
 * jobs are all gone, then up to PRUNE_PAGE finished jobs per tenant past retention and the page's old counter rows, a
 * fixed number of statements whatever the tenant count. Answers how many jobs were deleted.
 */
export async function pruneFinished(d1: D1Database, env: Env, now: number): Promise<number> {
  const { finishedDays, deadDays } = retention(env);
  const finishedBefore = now - finishedDays * DAY_MS;
  const deadBefore = now - deadDays * DAY_MS;
  await pruneBatches(d1, finishedBefore);
  const deleted = await prunePage(d1, idFloor("job", Math.max(finishedBefore, deadBefore)), {
    pageSize: PRUNE_TENANT_PAGE,
    finishedBefore,
    deadBefore,
    perTenant: PRUNE_PAGE,
    countersBefore: minuteOf(now) - COUNTER_RETENTION_MINUTES,
    now,
  });
  await pruneEvents(d1, now);
  return deleted;
}

/**
 * The page's finished batches past retention (the job retention: a batch finishes when its last job does, and stays
 * while any of its jobs is kept). Runs before the job prune, which moves the tenant cursor: the same page of tenants.
 * A batch whose last jobs go in this tick's job prune goes at the tenant's next visit.
 */
export async function pruneBatches(d1: D1Database, finishedBefore: number): Promise<number> {
  const result = await pruneBatchesStatement(d1, {
    pageSize: PRUNE_TENANT_PAGE,
    idsBefore: idFloor("bat", finishedBefore),
    finishedBefore,
    perTenant: BATCH_PRUNE_PAGE,
  }).run();
  return result.meta.changes ?? 0;
}

/** One bounded DELETE of the events no wait can match any more (older than the lookback and its margin). */
export async function pruneEvents(d1: D1Database, now: number): Promise<number> {
  const result = await pruneEventsStatement(
    d1,
    now - EVENT_LOOKBACK_MS - EVENT_PRUNE_MARGIN_MS,
    EVENT_PRUNE_PAGE,
  ).run();
  return result.meta.changes ?? 0;
}
