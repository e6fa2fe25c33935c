// Flow-control deferrals: the job waits without spending an attempt; its attempt log says why (src/db/consumer-statements.ts writes it).
import type { AttemptLogEntry } from "../contract/job";

/** Older deferral entries are dropped past this many, so a long wait cannot grow the row without bound. */
const MAX_DEFERRAL_ENTRIES = 10;

/** The attempt log with one more deferral entry, keeping only the latest deferrals. */
export function withDeferral(log: AttemptLogEntry[], entry: AttemptLogEntry): AttemptLogEntry[] {
  const next = [...log, entry];
  let surplus = next.filter((e) => e.outcome === "deferred").length - MAX_DEFERRAL_ENTRIES;
  return next.filter((e) => !(e.outcome === "deferred" && surplus-- > 0));
}
