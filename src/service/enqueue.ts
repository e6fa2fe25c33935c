// Enqueue: validate against the job type, commit the rows to D1, then send their ids to the queue.

import {
  DEFAULT_BACKOFF,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_SECONDS,
  type FlowSettings,
  type Job,
  type JobMessage,
  type JobOptions,
  MAX_DELAY_SECONDS,
  MAX_QUEUE_DELAY_SECONDS,
} from "../contract/job";
import type { EnqueueInput } from "../contract/schemas";
import type { JobRegistry } from "../core/define-job";
import { PayloadTooLargeError, PayloadValidationError, UnknownJobTypeError } from "../core/enqueue-errors";
import { newId } from "../core/ids";
import { DEFAULT_LANE } from "../core/lanes";
import { infoLogged, type Logger } from "../core/logger";
import { needsWatch, RESCUE_WINDOW_MS } from "../core/rescue-window";
import type { Db } from "../db/client";
import { insertJobs, storedJobRow } from "../db/job-insert";
import { loadJobs, type NewJob, rowToJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { recordTenant } from "../db/tenants";
import type { GateNamespace } from "../gate/gate-client";
import { claimIdempotencyKeys } from "../gate/idempotency-claims";
import { enqueueWithDebounce } from "./debounce";
import { refusedTargets } from "./enqueue-guard";
import { createdJob, type JobParts } from "./enqueued-job";

/** How far back the tick scans fresh ids for lost messages; a job due later is watched by index (see schema.ts). */
export { RESCUE_WINDOW_MS } from "../core/rescue-window";

export type EnqueueContext = {
  db: Db;
  queue: Queue<JobMessage>;
  registry: JobRegistry;
  tenant: string;
  now: number;
  payloadLimitBytes: number;
  allowPrivateTargets: boolean;
  log: Logger;
  /** The KeyGate namespace; needed when an item carries an idempotency key. */
  gates?: GateNamespace;
  /** The lanes the deployment declares (config LANES); a job naming another lane is refused. */
  lanes: readonly string[];
  /** The shard `db` is (src/core/shards.ts): the debounce gate writes its window's job there. */
  shard: string;
};

/** UTF-8 takes at most 3 bytes per UTF-16 unit, so most payloads pass without being encoded at all. */
const overLimit = (text: string, limit: number) =>
  text.length * 3 > limit && new TextEncoder().encode(text).byteLength > limit;

/** Turns one validated request item into the row to insert. Throws the producer errors on refusal. */
/** What planning a row reads: a row is the same on every shard (children, which never debounce, have no shard). */
export type RowContext = Omit<EnqueueContext, "shard">;

export function buildJobRow(input: EnqueueInput, ctx: RowContext, path = ""): NewJob {
  return planJob(input, ctx, path).row;
}

/** The row to insert, with the values its JSON columns are serialized from (for the answer). */
function planJob(input: EnqueueInput, ctx: RowContext, path: string): { row: NewJob; parts: JobParts } {
  const definition = ctx.registry.get(input.type);
  if (!definition) throw new UnknownJobTypeError(input.type, ctx.registry.keys());

  const payload = input.payload ?? {};
  const payloadJson = JSON.stringify(payload);
  if (overLimit(payloadJson, ctx.payloadLimitBytes)) {
    throw new PayloadTooLargeError(`payload is larger than ${ctx.payloadLimitBytes} bytes`);
  }
  const parsed = definition.input.safeParse(payload);
  if (!parsed.success) {
    throw new PayloadValidationError(
      `payload does not match job type "${input.type}"`,
      parsed.error.issues.map((issue) => ({
        path: [path, "payload", ...issue.path.map(String)].filter(Boolean).join("."),
        message: issue.message,
      })),
    );
  }

  // An http job's url and any callbackUrl must be public destinations (see src/webhooks/target-guard.ts).
  const refused = refusedTargets(input, ctx.allowPrivateTargets, path);
  if (refused.length > 0) throw new PayloadValidationError("a target URL was refused", refused);

  const lane = input.queue ?? definition.queue ?? DEFAULT_LANE;
  if (!ctx.lanes.includes(lane)) {
    throw new PayloadValidationError("unknown queue", [
      {
        path: [path, "queue"].filter(Boolean).join("."),
        message: `no lane "${lane}" in this deployment; its lanes: ${ctx.lanes.join(", ")}`,
      },
    ]);
  }

  const runAt = input.runAt ? Date.parse(input.runAt) : ctx.now + (input.delaySeconds ?? 0) * 1000;
  if (runAt > ctx.now + MAX_DELAY_SECONDS * 1000) {
    throw new PayloadValidationError("invalid request", [
      { path: [path, "runAt"].filter(Boolean).join("."), message: "at most 365 days ahead" },
    ]);
  }
  const flow: FlowSettings | null = input.flow ?? definition.flow?.(parsed.data) ?? null;
  const options: JobOptions = {
    backoff: input.backoff ?? definition.backoff ?? DEFAULT_BACKOFF,
    timeoutSeconds: input.timeoutSeconds ?? definition.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    flow,
  };
  const delayMs = Math.max(0, runAt - ctx.now);
  const metadata = input.metadata ?? {};
  const row: NewJob = {
    tenantId: ctx.tenant,
    id: newId("job", ctx.now),
    type: input.type,
    status: delayMs > MAX_QUEUE_DELAY_SECONDS * 1000 ? "scheduled" : "queued",
    payload: payloadJson,
    attempts: 0,
    maxAttempts: input.maxAttempts ?? definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    options: JSON.stringify(options),
    runAt,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    idempotencyKey: input.idempotencyKey ?? null,
    callbackUrl: input.callbackUrl ?? null,
    metadata: JSON.stringify(metadata),
    queue: lane,
    // Queued jobs due past the fresh-id rescue window are watched through the outbox index.
    outbox: delayMs > MAX_QUEUE_DELAY_SECONDS * 1000 || delayMs < RESCUE_WINDOW_MS / 2 ? 0 : 1,
  };
  return { row, parts: { payload, options, metadata } };
}

/** The queue message for a job due at `runAt`, with the delay the queue should hold it for. */
export function messageFor(row: MessageRow, now: number) {
  const delaySeconds = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil((row.runAt - now) / 1000)));
  const body: JobMessage =
    row.queue && row.queue !== DEFAULT_LANE
      ? { tenant: row.tenantId, id: row.id, queue: row.queue }
      : { tenant: row.tenantId, id: row.id };
  return { body, delaySeconds };
}

/** What a job's message is built from; a row without its lane (an older partial select) goes to the default lane. */
export type MessageRow = Pick<JobRow, "tenantId" | "id" | "runAt"> & { queue?: string | null };

/**
 * Sends messages, at most 100 per sendBatch. A failed send is logged, not thrown: the rows are
 * committed, so the tick's outbox rescue delivers them later. Answers how many sends failed.
 */
export async function sendMessages(
  queue: Queue<JobMessage>,
  rows: MessageRow[],
  now: number,
  log: Logger,
): Promise<number> {
  let failed = 0;
  for (let i = 0; i < rows.length; i += 100) {
    const chunk = rows.slice(i, i + 100);
    try {
      await queue.sendBatch(chunk.map((row) => messageFor(row, now)));
    } catch (err) {
      failed += chunk.length;
      log.warn("queue send failed; the tick will re-send", {
        jobIds: chunk.map((r) => r.id),
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return failed;
}

export type Enqueued = {
  row: JobRow;
  replayed: boolean;
  /** The item joined an open debounce window: the answer is that window's job (HTTP 200 + `Debounced: true`). */
  debounced?: boolean;
  /**
   * The job as the HTTP API answers it. A created job's answer is built from the request's own (JSON-born)
   * values rather than by re-parsing its row; a replay's comes from the stored original.
   */
  toJob(): Job;
};

/**
 * Persist, then enqueue: all rows in one D1 batch (all or nothing), then the messages. Rows with an
 * idempotency key first take the job id their key is bound to (src/gate); the insert does nothing
 * on an existing id, so a duplicate answers the original job and a retry after a crash creates it.
 */
export async function enqueue(inputs: EnqueueInput[], ctx: EnqueueContext): Promise<Enqueued[]> {
  // Debounced items go through their KeyGate windows (service/debounce.ts); a plain request only reads one field per item.
  for (const input of inputs) if (input.debounce) return enqueueWithDebounce(inputs, ctx, enqueuePlain);
  return enqueuePlain(inputs, ctx);
}

/** The plain producer. `paths`: each item's place in the request (a debounced request passes its plain items' own). */
async function enqueuePlain(
  inputs: EnqueueInput[],
  ctx: EnqueueContext,
  paths: string[] = inputs.map((_, i) => (inputs.length > 1 ? `jobs.${i}` : "")),
): Promise<Enqueued[]> {
  const plans = inputs.map((input, i) => planJob(input, ctx, paths[i] ?? ""));
  const rows = plans.map((plan) => plan.row);
  await claimKeys(inputs, rows, paths, ctx);
  // A key bound to an old job id re-creates that id (the job was pruned): too old for the fresh-id rescue, so watched.
  for (const row of rows) if (row.status === "queued" && needsWatch(row.id, row.runAt)) row.outbox = 1;
  // Once per isolate per tenant (the tick's sweeps walk the tenants table); the steady state writes nothing here.
  await recordTenant(ctx.db, ctx.tenant, ctx.now);
  // The rows as stored are known without reading them back: D1 only says which ids already existed.
  const stored = rows.map(storedJobRow);
  const wasCreated = await insertJobs(ctx.db, stored);
  const toSend: JobRow[] = [];
  const replayedKeys: { tenant: string; id: string }[] = [];
  stored.forEach((row, i) => {
    if (!wasCreated[i]) replayedKeys.push(keyOf(row));
    else if (row.status === "queued") toSend.push(row);
  });
  // Only a replay reads rows back: an id it names that this request created answers the row as stored.
  const originals = replayedKeys.length > 0 ? await replayedRows(ctx.db, replayedKeys, stored, wasCreated) : undefined;

  await sendMessages(ctx.queue, toSend, ctx.now, ctx.log);
  const info = infoLogged();
  return rows.map((planned, i): Enqueued => {
    const parts = plans[i]?.parts;
    if (wasCreated[i] && parts) {
      const row = stored[i] as JobRow;
      if (info) logEnqueued(ctx.log, inputs[i]?.metadata, "job enqueued", row);
      return { row, replayed: false, toJob: () => createdJob(row, parts) };
    }
    // An existing job's id, or the second item naming the same key in one request: a replay of it.
    const row = originals?.get(planned.id);
    if (!row) throw new Error("an idempotency key points at a job that vanished during the request");
    if (info) logEnqueued(ctx.log, JSON.parse(row.metadata) as Record<string, string>, "idempotent replay", row);
    return { row, replayed: true, toJob: () => rowToJob(row) };
  });
}

/** The rows replays answer, by id: read back from D1, or (an id created earlier in this request) as stored. */
async function replayedRows(db: Db, keys: { tenant: string; id: string }[], stored: JobRow[], wasCreated: boolean[]) {
  const byId = new Map((await loadJobs(db, keys)).map((row) => [row.id, row]));
  stored.forEach((row, i) => {
    if (wasCreated[i]) byId.set(row.id, row);
  });
  return byId;
}

/** One line per item; metadata goes under the job's fields (withMetadata), so it can never pose as one of them. */
function logEnqueued(log: Logger, metadata: Record<string, string> | undefined, msg: string, row: JobRow) {
  const jobLog = metadata && hasKeys(metadata) ? log.withMetadata(metadata) : log;
  jobLog.info(msg, { jobId: row.id, type: row.type, status: row.status });
}

/** The answers of a batch enqueue, in request order. */
export async function enqueueForAnswer(inputs: EnqueueInput[], ctx: EnqueueContext): Promise<Job[]> {
  return (await enqueue(inputs, ctx)).map((r) => r.toJob());
}

const hasKeys = (object: object) => {
  for (const _ in object) return true;
  return false;
};

const keyOf = (row: Pick<JobRow, "tenantId" | "id">) => ({ tenant: row.tenantId, id: row.id });

async function claimKeys(inputs: EnqueueInput[], rows: NewJob[], paths: string[], ctx: EnqueueContext) {
  const keyed = rows.flatMap((row, i) => {
    const input = inputs[i];
    if (!row.idempotencyKey || !input) return [];
    return [
      {
        row,
        type: input.type,
        payload: input.payload ?? {},
        ttlSeconds: input.idempotencyTtlSeconds,
        path: paths[i] ?? "",
      },
    ];
  });
  if (keyed.length === 0) return;
  if (!ctx.gates) throw new Error("idempotency keys need the KEY_GATE binding in the enqueue context");
  await claimIdempotencyKeys(ctx.gates, ctx.tenant, keyed);
}
