// The tick's outbox rescue: re-send messages for rows whose message was lost (the row committed, the send failed),
// one page of tenants per tick, a fixed number of statements whatever the tenant count.

import type { JobMessage } from "../contract/job";
import { describeError } from "../core/errors";
import { idFloor } from "../core/ids";
import type { Logger } from "../core/logger";
import { needsWatch, RESCUE_WINDOW_MS } from "../core/rescue-window";
import { watchCallbacksStatement } from "../db/callback-state";
import { markResentStatement } from "../db/job-sweeps";
import { advanceRescueFloors, moveCursor, type StrandedRow, scanForRescue } from "../db/tenant-sweeps";
import { sendMessages } from "../service/enqueue";
import { callbackMessage } from "../webhooks/callbacks";

/** Stranded rows looked at per query per tick; more wait for the next tick. */
export const RESCUE_PAGE = 500;
/** Tenants whose recent ids one tick scans; the cursor carries on from there next tick. */
export const RESCUE_TENANT_PAGE = 250;
/** A tenant's rescue floor is rewritten only once it lags this far behind (one row write per tenant per hour, not per tick). */
const FLOOR_SLACK_MS = RESCUE_WINDOW_MS;

export type RescueDeps = { d1: D1Database; queue: Queue<JobMessage>; log: Logger; now: number; graceMs: number };

export async function rescueStranded(deps: RescueDeps): Promise<{ rescued: number; sendFailures: number }> {
  const { d1, queue, log, now, graceMs } = deps;
  const scan = await scanForRescue(d1, {
    pageSize: RESCUE_TENANT_PAGE,
    cutoff: now - graceMs,
    defaultFloor: idFloor("job", now - RESCUE_WINDOW_MS),
    limit: RESCUE_PAGE,
  });
  const all = dedupe([...scan.fresh, ...scan.watched, ...scan.retrying]);
  // Finished jobs in the list are there for their callback: re-send its message (same webhook-id).
  const isFinished = (row: StrandedRow) => row.status === "succeeded" || row.status === "dead";
  const callbacks = all.filter(isFinished);
  const stranded = all.filter((row) => !isFinished(row));

  const writes: D1PreparedStatement[] = [];
  if (stranded.length > 0) writes.push(markResentStatement(d1, stranded, now));
  // A callback re-sent late in its id's window is flagged, so a second loss is still found after the window.
  const lateCallbacks = callbacks.filter((row) => needsWatch(row.id, now));
  if (lateCallbacks.length > 0) writes.push(watchCallbacksStatement(d1, lateCallbacks));
  const complete = scan.fresh.length < RESCUE_PAGE && scan.watched.length < RESCUE_PAGE;
  // A page scanned to its end moves on (a page cut short by RESCUE_PAGE is scanned again: its re-sent rows have
  // a new runAt and drop out of it for a grace period, so the next scan gets further).
  if (complete) writes.push(...advanceCursor(d1, scan.tenants, now));
  const results = writes.length > 0 ? await d1.batch<Pick<StrandedRow, "tenantId" | "id" | "queue">>(writes) : [];

  const marked = stranded.length > 0 ? (results[0]?.results ?? []).map((r) => ({ ...r, runAt: now })) : [];
  const sendFailures = await sendMessages(queue, marked, now, log);
  const callbackFailures = await resendCallbacks(queue, callbacks, log);
  return {
    rescued: marked.length - sendFailures + callbacks.length - callbackFailures,
    sendFailures: sendFailures + callbackFailures,
  };
}

/** The page's floors move up, and the cursor past the page (back to the start after a short, last page). */
function advanceCursor(d1: D1Database, tenants: string[], now: number): D1PreparedStatement[] {
  const first = tenants[0];
  const last = tenants.at(-1);
  const after = tenants.length < RESCUE_TENANT_PAGE ? "" : (last ?? "");
  const statements = [moveCursor(d1, "rescue", after, now)];
  if (first && last) {
    const floor = idFloor("job", now - RESCUE_WINDOW_MS);
    statements.unshift(
      advanceRescueFloors(d1, first, last, floor, idFloor("job", now - RESCUE_WINDOW_MS - FLOOR_SLACK_MS)),
    );
  }
  return statements;
}

async function resendCallbacks(queue: Queue<JobMessage>, rows: StrandedRow[], log: Logger): Promise<number> {
  if (rows.length === 0) return 0;
  const messages = rows.map((row) => ({ body: callbackMessage(row) }));
  try {
    for (let i = 0; i < messages.length; i += 100) await (queue as Queue).sendBatch(messages.slice(i, i + 100));
    log.info("callback messages re-sent", { jobIds: rows.map((r) => r.id) });
    return 0;
  } catch (err) {
    log.warn("callback re-send failed; the next tick tries again", { error: describeError(err).message });
    return rows.length;
  }
}

function dedupe(rows: StrandedRow[]): StrandedRow[] {
  const seen = new Map<string, StrandedRow>();
  for (const row of rows) seen.set(`${row.tenantId}/${row.id}`, row);
  return [...seen.values()];
}
