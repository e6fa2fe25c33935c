// What the contract accepts as a schedule: 5-field cron expressions, IANA zones and catch-up modes (validation only).
import { Cron } from "croner";

/** What to do with fire times that passed while nothing ticked (downtime, a pause is not one). */
export const CATCH_UP_MODES = ["latest", "all", "none"] as const;
export type CatchUp = (typeof CATCH_UP_MODES)[number];

/** Why `cron` is not a usable 5-field expression, or null when it is. */
export function cronProblem(cron: string): string | null {
  const fields = cron.trim().split(/\s+/);
  // croner also takes nicknames, seconds and ISO dates; the contract promises 5 fields, minute precision.
  if (fields.length !== 5) return "must have 5 fields: minute hour day-of-month month day-of-week";
  try {
    const compiled = new Cron(cron, { timezone: "UTC", mode: "5-part" });
    // Ask for a run far ahead only to learn the expression can fire at all (e.g. not "0 0 31 2 *").
    if (compiled.nextRun(new Date(0)) === null) return "never fires";
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^CronPattern: /, "") : "invalid cron expression";
  }
}

/** The canonical IANA name of `timezone` (e.g. "europe/berlin" → "Europe/Berlin"), or null when unknown. */
export function canonicalTimezone(timezone: string): string | null {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
