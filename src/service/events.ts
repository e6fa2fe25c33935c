// POST /v1/events as a use case: store the event, complete the waits it matches and wake their jobs, then send their messages.
import { MAX_EVENT_WAKES_PER_CALL, type SendEventInput, type SentEvent } from "../contract/events";
import type { JobMessage } from "../contract/job";
import { configOf, jobQueueOf } from "../core/config";
import { PayloadTooLargeError, PayloadValidationError } from "../core/enqueue-errors";
import { newId } from "../core/ids";
import type { Logger } from "../core/logger";
import { MAX_STEP_RESULT_BYTES } from "../core/steps";
import {
  type EventRecord,
  insertEventStatement,
  moreWaitingStatement,
  type WokenJob,
  wakePageStatements,
} from "../db/event-statements";
import { sendMessages } from "./enqueue";

/** Waits completed per pair of statements: no bound parameter grows with it, and one page writes ~3,000 rows. */
export const EVENT_WAKE_PAGE = 500;

export type EventDeps = {
  d1: D1Database;
  queue: Queue<JobMessage>;
  tenant: string;
  now: number;
  log: Logger;
  /** Largest `data`, in bytes of its JSON: it becomes each matched step's stored result. */
  dataLimitBytes: number;
  /** Tests shrink these to page through a few waits; production keeps the defaults. */
  pageSize?: number;
  maxWakes?: number;
};

/**
 * The deps from a Worker's bindings (HTTP and RPC build them the same way). `data` may be as large as a payload,
 * but never larger than a step's stored result may be, since each wait it completes stores it as one.
 */
export function eventDepsOf(env: Env, parts: Pick<EventDeps, "tenant" | "log"> & Partial<EventDeps>): EventDeps {
  return {
    d1: env.DB,
    queue: jobQueueOf(env),
    now: Date.now(),
    dataLimitBytes: Math.min(configOf(env).payloadLimitBytes, MAX_STEP_RESULT_BYTES),
    ...parts,
  };
}

/** UTF-8 takes at most 3 bytes per UTF-16 unit, so most data passes without being encoded at all. */
const overLimit = (text: string, limit: number) =>
  text.length * 3 > limit && new TextEncoder().encode(text).byteLength > limit;

/** The event's JSON text (null for no data); refuses what JSON cannot carry (reachable from RPC, never from HTTP). */
function dataJson(data: unknown, limit: number): string | null {
  if (data === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    throw new PayloadValidationError("invalid request", [{ path: "data", message: "must be JSON" }]);
  }
  if (overLimit(json, limit)) throw new PayloadTooLargeError(`data is larger than ${limit} bytes`);
  return json;
}

/** Page sizes of one call: full pages up to the cap, the last one cut to it. */
function pageSizes(pageSize: number, maxWakes: number): number[] {
  const sizes: number[] = [];
  for (let left = maxWakes; left > 0; left -= pageSize) sizes.push(Math.min(pageSize, left));
  return sizes;
}

/**
 * One transaction stores the event and completes the first page of waits (the usual event matches a handful); a
 * full page is followed by one more transaction with the remaining pages up to the cap and a check for waits left
 * over. The event is committed first, so a wait that parks between the two transactions either is matched by the
 * second or finds the event at park time (the engine's lookback): none is missed. Waits past the cap stay open
 * (`more: true`); the same event sent again completes the next ones.
 */
export async function sendEvent(input: SendEventInput, deps: EventDeps): Promise<SentEvent> {
  const { d1, now } = deps;
  const event: EventRecord = {
    tenant: deps.tenant,
    id: newId("evt", now),
    name: input.name,
    key: input.key ?? null,
    data: dataJson(input.data, deps.dataLimitBytes),
    now,
  };
  const [first = 0, ...rest] = pageSizes(deps.pageSize ?? EVENT_WAKE_PAGE, deps.maxWakes ?? MAX_EVENT_WAKES_PER_CALL);

  const woken: WokenJob[] = [];
  const head = await d1.batch([insertEventStatement(d1, event), ...wakePageStatements(d1, event, first)]);
  woken.push(...((head[1]?.results ?? []) as WokenJob[]));
  let matched = head[2]?.meta.changes ?? 0;
  let more = false;
  if (matched === first && first > 0) {
    const statements = rest.flatMap((size) => wakePageStatements(d1, event, size));
    statements.push(moreWaitingStatement(d1, event));
    const results = await d1.batch(statements);
    for (let i = 0; i < rest.length; i++) {
      woken.push(...((results[2 * i]?.results ?? []) as WokenJob[]));
      matched += results[2 * i + 1]?.meta.changes ?? 0;
    }
    more = ((results.at(-1)?.results[0] as { more?: number } | undefined)?.more ?? 0) === 1;
  }

  // The jobs are queued with outbox = 1: a send that fails here is the tick's rescue to repeat.
  const sendFailures = await sendMessages(deps.queue, woken, now, deps.log);
  deps.log.info("event received", {
    eventId: event.id,
    event: event.name,
    matched,
    jobsWoken: woken.length,
    more,
    ...(sendFailures > 0 ? { sendFailures } : {}),
  });
  return { id: event.id, matched, more };
}
