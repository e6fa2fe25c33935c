// The fresh-id rescue window, and when a row must be watched by index instead because its id is too old for it. Pure.

/**
 * The tick re-sends lost messages of queued rows by scanning each tenant's ids from its last scan
 * back this far (the primary key is (tenant, time-sortable id), so no index row is written for it).
 */
export const RESCUE_WINDOW_MS = 60 * 60 * 1000;

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The creation time encoded in a time-sortable id (`prefix_` + 10 base32 time characters + random). */
export function idTime(id: string): number {
  const time = id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11);
  let ms = 0;
  for (const char of time) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return 0;
    ms = ms * 32 + digit;
  }
  return ms;
}

/**
 * True when a row with this id that needs the rescue from `dueAt` on (a queued job's run time, a pending
 * callback's next attempt) could fall outside the fresh-id scan by then: such a row is flagged (outbox = 1)
 * and found through the jobs_outbox index whatever its age. Half the window leaves the scan its margin.
 */
export function needsWatch(id: string, dueAt: number): boolean {
  return dueAt - idTime(id) > RESCUE_WINDOW_MS / 2;
}
