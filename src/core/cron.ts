// Pure cron math: lists fire times from a given `now` with croner (what is valid lives in contract/cron-rules.ts).
import { Cron } from "croner";
import type { CatchUp } from "../contract/cron-rules";

export type CronSpec = { cron: string; timezone: string };

/**
 * A fire time counts as on time while the tick that sees it is at most this late. Ticks come every
 * minute and may run a little late; anything older was missed and falls under the catch-up rule.
 */
export const ON_TIME_MS = 2 * 60_000;
/** With catchUp "all", one tick fires at most this many missed times per schedule; later ticks fire the rest. */
export const MAX_CATCH_UP_PER_TICK = 20;

const compile = (spec: CronSpec) => new Cron(spec.cron, { timezone: spec.timezone, mode: "5-part" });

/** The first fire time strictly after `afterMs`, or null when there is none. */
export function nextFire(spec: CronSpec, afterMs: number): number | null {
  return compile(spec).nextRun(new Date(afterMs))?.getTime() ?? null;
}

/** Fire times in [fromMs, toMs], oldest first, at most `limit`. */
export function firesBetween(spec: CronSpec, fromMs: number, toMs: number, limit: number): number[] {
  if (fromMs > toMs || limit <= 0) return [];
  return compile(spec)
    .nextRuns(limit, new Date(fromMs - 1))
    .map((d) => d.getTime())
    .filter((t) => t <= toMs);
}

/** The last fire time in [fromMs, toMs], or null. */
function lastFireBetween(spec: CronSpec, fromMs: number, toMs: number): number | null {
  const [last] = compile(spec).previousRuns(1, new Date(toMs + 1));
  const t = last?.getTime();
  return t !== undefined && t >= fromMs ? t : null;
}

export type FirePlan = {
  /** Fire times to turn into jobs now, oldest first. */
  fires: number[];
  /** Where the schedule resumes: the next fire time not yet handled (may still be due when "all" was capped). */
  nextRunAt: number | null;
};

/**
 * Which fire times a tick at `now` fires for a schedule whose next unhandled fire time is `dueFrom`.
 * On-time fires (within ON_TIME_MS of now) always fire. Missed ones follow `catchUp`: "latest" fires
 * only the most recent missed time, "all" fires every one (MAX_CATCH_UP_PER_TICK per tick), "none" skips them.
 */
export function planFires(spec: CronSpec, catchUp: CatchUp, dueFrom: number, now: number): FirePlan {
  if (dueFrom > now) return { fires: [], nextRunAt: dueFrom };
  const missedUntil = now - ON_TIME_MS;
  const onTime = firesBetween(spec, Math.max(dueFrom, missedUntil + 1), now, MAX_CATCH_UP_PER_TICK);
  if (dueFrom > missedUntil || catchUp === "none") return { fires: onTime, nextRunAt: nextFire(spec, now) };
  if (catchUp === "latest") {
    const latest = lastFireBetween(spec, dueFrom, missedUntil);
    return { fires: latest === null ? onTime : [latest, ...onTime], nextRunAt: nextFire(spec, now) };
  }
  const missed = firesBetween(spec, dueFrom, missedUntil, MAX_CATCH_UP_PER_TICK);
  const last = missed.at(-1);
  if (missed.length === MAX_CATCH_UP_PER_TICK && last !== undefined) {
    // Capped: the next tick carries on after the last fire handled here; on-time ones wait their turn.
    return { fires: missed, nextRunAt: nextFire(spec, last) };
  }
  return { fires: [...missed, ...onTime], nextRunAt: nextFire(spec, now) };
}
