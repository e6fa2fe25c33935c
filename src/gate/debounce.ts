// Debounce windows, pure: an arrival opens a window or replaces its job, when that job starts, and whether a message must go.
import { type DebounceSettings, MAX_QUEUE_DELAY_SECONDS } from "../contract/job";
import { needsWatch } from "../core/rescue-window";

/** What an enqueue's `debounce` says; the latest arrival's settings are the ones that count. */
export type { DebounceSettings };

/**
 * The open window of one (tenant, debounce key): the job later enqueues replace until it starts. Times are unix ms.
 * Kept in the KeyGate's KV storage, one entry per object.
 */
export type DebounceWindow = {
  jobId: string;
  /** When the window was opened: `maxWaitSeconds` counts from here. */
  firstAt: number;
  /** Arrivals the gate applied in this window, the opening one being 1. */
  seq: number;
  /** The latest arrival's time, so a late-arriving request with an older clock never moves the start back by accident. */
  lastAt: number;
  /** The start the window's job was last given. */
  runAt: number;
  /**
   * The due time of the earliest message sent for the window's job that has not come yet, as far as the gate knows
   * (0: none). A replace that moves the start later sends nothing: that message comes first and is carried forward.
   */
  messageAt: number;
  /**
   * The tenant of the window's job, so the alarm can ask D1 whether it has started. Absent on windows saved before
   * it was kept (those are forgotten by age, as they were).
   */
  tenant?: string;
  /** The shard that job is stored in (DB when absent: one shard, or saved before shards). */
  shard?: string;
};

/**
 * How long past its job's start a window goes unchecked. After that the gate's alarm asks D1 whether the job has
 * started: a job that has not (a backlog, flow control, a paused type, a start pushed) keeps its window, whatever its
 * age, and the alarm asks again a linger later; a started, finished or gone one ends it. An arrival never trusts a
 * window's age: it replaces the window's job only while D1 says it has not started, else it opens a new window.
 */
export const WINDOW_LINGER_MS = 24 * 3600 * 1000;

export const MAX_WAIT_SECONDS = 604_800;

/** The window if its job's start is at most a linger before `now` (no check due yet), else null (the alarm asks D1). */
export const openWindow = (window: DebounceWindow | null | undefined, now: number): DebounceWindow | null =>
  window && now <= window.runAt + WINDOW_LINGER_MS ? window : null;

/** How an arrival lands: the start it gives the job, the job's status and index watch, and whether to send a message. */
export type ArrivalPlan = {
  runAt: number;
  status: "queued" | "scheduled";
  /** 1 when the row must be watched by the outbox index (see core/rescue-window.ts). */
  outbox: 0 | 1;
  sendMessage: boolean;
  /** The arrival's time as the window counts it (never before the previous arrival's). */
  at: number;
};

/**
 * `seconds` from now, never past `maxWaitSeconds` after the window opened, never in the past. A new window's job is
 * due `seconds` from its first enqueue (maxWaitSeconds ≥ seconds, so the bound never cuts it).
 */
export function planArrival(
  window: DebounceWindow | null,
  settings: Pick<DebounceSettings, "seconds" | "maxWaitSeconds">,
  jobId: string,
  now: number,
): ArrivalPlan {
  const at = window ? Math.max(now, window.lastAt) : now;
  const pushed = at + settings.seconds * 1000;
  const bound =
    window && settings.maxWaitSeconds !== undefined ? window.firstAt + settings.maxWaitSeconds * 1000 : pushed;
  const runAt = Math.max(at, Math.min(pushed, bound));
  // Past the queue's longest delay the row waits as `scheduled` and the tick sends it when due.
  const status = runAt - at > MAX_QUEUE_DELAY_SECONDS * 1000 ? "scheduled" : "queued";
  const outbox = status === "queued" && needsWatch(jobId, runAt) ? 1 : 0;
  // A message that comes at or before the new start is bounced to it by the consumer (engine/triage.ts).
  const carried = window !== null && window.messageAt > at && window.messageAt <= runAt;
  return { runAt, status, outbox, sendMessage: status === "queued" && !carried, at };
}

/** The window after an arrival's write landed: opened by it (`window` null) or advanced. */
export function nextWindow(window: DebounceWindow | null, plan: ArrivalPlan, jobId: string): DebounceWindow {
  // A message is sent only when none known to come is due by the new start, so the one sent is then the earliest.
  const messageAt = plan.sendMessage ? plan.runAt : (window?.messageAt ?? 0);
  if (!window) return { jobId, firstAt: plan.at, seq: 1, lastAt: plan.at, runAt: plan.runAt, messageAt };
  return { ...window, seq: window.seq + 1, lastAt: plan.at, runAt: plan.runAt, messageAt };
}

/** Issues with an enqueue item's debounce fields (the schema checks them too; RPC and in-process callers come here). */
export function debounceIssues(
  item: { debounce: DebounceSettings; idempotencyKey?: string | undefined; delaySeconds?: number; runAt?: string },
  path: string,
): { path: string; message: string }[] {
  const at = (...parts: string[]) => [path, ...parts].filter(Boolean).join(".");
  const { key, seconds, maxWaitSeconds } = item.debounce;
  const issues: { path: string; message: string }[] = [];
  if (typeof key !== "string" || key.length < 1 || key.length > 200) {
    issues.push({ path: at("debounce", "key"), message: "a string of 1 to 200 characters" });
  }
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
    issues.push({ path: at("debounce", "seconds"), message: "an integer from 1 to 86400" });
  }
  if (
    maxWaitSeconds !== undefined &&
    (!Number.isInteger(maxWaitSeconds) || maxWaitSeconds < seconds || maxWaitSeconds > MAX_WAIT_SECONDS)
  ) {
    issues.push({
      path: at("debounce", "maxWaitSeconds"),
      message: `an integer from seconds to ${MAX_WAIT_SECONDS}`,
    });
  }
  if (item.delaySeconds !== undefined || item.runAt !== undefined) {
    issues.push({ path: at("debounce"), message: "debounce sets the start: give no delaySeconds or runAt with it" });
  }
  if (item.idempotencyKey !== undefined && item.idempotencyKey !== null) {
    issues.push({
      path: at("debounce"),
      message: "debounce and idempotencyKey cannot be combined (a debounced enqueue replaces the job's payload)",
    });
  }
  return issues;
}

/** One arrival of a group: its settings and its clock. */
export type Arrival = { settings: Pick<DebounceSettings, "seconds" | "maxWaitSeconds">; now: number };

export type GroupPlan = {
  /** Each arrival's place in the window, in arrival order. */
  seqs: number[];
  /** The start, status and watch of the job after the group: the last arrival's plan. */
  final: ArrivalPlan;
  /** One message at most for the whole group (see planArrival). */
  sendMessage: boolean;
  window: DebounceWindow;
};

/**
 * Arrivals that queued up behind one D1 write are applied as one write: each gets its own place (seq) as if applied
 * alone, and the last one's request is the job that gets stored (the last arrival wins either way).
 */
export function planGroup(window: DebounceWindow | null, arrivals: readonly Arrival[], jobId: string): GroupPlan {
  let current = window;
  let final: ArrivalPlan | null = null;
  const seqs: number[] = [];
  for (const { settings, now } of arrivals) {
    final = planArrival(current, settings, jobId, now);
    current = nextWindow(current, final, jobId);
    seqs.push(current.seq);
  }
  if (!final || !current) throw new Error("planGroup needs at least one arrival");
  // The intermediate plans sent nothing: only the group's final start decides whether a message must go.
  const carried = window !== null && window.messageAt > final.at && window.messageAt <= final.runAt;
  const sendMessage = final.status === "queued" && !carried;
  const messageAt = sendMessage ? final.runAt : (window?.messageAt ?? 0);
  return { seqs, final: { ...final, sendMessage }, sendMessage, window: { ...current, messageAt } };
}
