// The tick's retention phase: delete finished jobs past their retention, a bounded page per tenant per tick.
import type { Db } from "../db/client";
import { pruneStatement } from "../db/job-sweeps";
import { pruneCountersStatement } from "../db/metrics";
import { minuteOf } from "../metrics/tally";

/** Rows deleted per tenant per tick: 720,000 a day at one tick a minute, bounded work each time. */
export const PRUNE_PAGE = 500;
const DAY_MS = 86_400_000;
/** Per-minute counters are kept a day; nothing reads further back than an hour. */
const COUNTER_RETENTION_MINUTES = 24 * 60;

/** Days from a var, or the default when it is unset or not a positive number. */
function days(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value && Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
}

export function retention(env: Env): { finishedDays: number; deadDays: number } {
  return { finishedDays: days(env.RETENTION_DAYS, 7), deadDays: days(env.DEAD_RETENTION_DAYS, 30) };
}

/** One DELETE of jobs and one of old counters per tenant, all in one D1 batch. Answers how many jobs were deleted. */
export async function pruneFinished(db: Db, env: Env, tenants: string[], now: number): Promise<number> {
  if (tenants.length === 0) return 0;
  const { finishedDays, deadDays } = retention(env);
  const statements = tenants.map((tenant) =>
    pruneStatement(db, tenant, now - finishedDays * DAY_MS, now - deadDays * DAY_MS, PRUNE_PAGE),
  );
  const counters = tenants.map((tenant) =>
    pruneCountersStatement(db, tenant, minuteOf(now) - COUNTER_RETENTION_MINUTES),
  );
  const [first, ...rest] = statements;
  if (!first) return 0;
  const results = await db.batch([first, ...rest, ...counters]);
  return results.slice(0, statements.length).reduce((sum, deleted) => sum + deleted.length, 0);
}
