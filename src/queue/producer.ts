// Enqueue: validate against the job type, commit the rows to D1, then send their ids to the queue.
import type { Db } from "../db/client";
import { insertJob, type NewJob, type Statement } from "../db/jobs";
import type { JobRow } from "../db/schema";
import type { EnqueueInput } from "../http/schemas";
import type { JobRegistry } from "../jobs/define-job";
import { newId } from "../jobs/ids";
import type { Logger } from "../jobs/logger";
import {
  DEFAULT_BACKOFF,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_SECONDS,
  type FlowSettings,
  type JobMessage,
  type JobOptions,
  MAX_DELAY_SECONDS,
  MAX_QUEUE_DELAY_SECONDS,
} from "../jobs/types";
import { refusedTargets } from "../webhooks/enqueue-guard";
import { PayloadTooLargeError, PayloadValidationError, UnknownJobTypeError } from "./producer-errors";

/**
 * How far back the tick scans fresh ids for lost messages. A job due later than this after its
 * creation is watched through the outbox index instead (see schema.ts).
 */
export const RESCUE_WINDOW_MS = 60 * 60 * 1000;

export type EnqueueContext = {
  db: Db;
  queue: Queue<JobMessage>;
  registry: JobRegistry;
  tenant: string;
  now: number;
  payloadLimitBytes: number;
  allowPrivateTargets: boolean;
  log: Logger;
};

const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;

/** Turns one validated request item into the row to insert. Throws the producer errors on refusal. */
export function buildJobRow(input: EnqueueInput, ctx: EnqueueContext, path = ""): NewJob {
  const definition = ctx.registry.get(input.type);
  if (!definition) throw new UnknownJobTypeError(input.type);

  const payload = input.payload ?? {};
  const payloadJson = JSON.stringify(payload);
  if (byteLength(payloadJson) > ctx.payloadLimitBytes) {
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
  const refused = refusedTargets({ ...input, payload }, ctx.allowPrivateTargets, path);
  if (refused.length > 0) throw new PayloadValidationError("a target URL was refused", refused);

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
  return {
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
    metadata: JSON.stringify(input.metadata ?? {}),
    // Queued jobs due past the fresh-id rescue window are watched through the outbox index.
    outbox: delayMs > MAX_QUEUE_DELAY_SECONDS * 1000 || delayMs < RESCUE_WINDOW_MS / 2 ? 0 : 1,
  };
}

/** The queue message for a job due at `runAt`, with the delay the queue should hold it for. */
export function messageFor(row: Pick<JobRow, "tenantId" | "id" | "runAt">, now: number) {
  const delaySeconds = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil((row.runAt - now) / 1000)));
  return { body: { tenant: row.tenantId, id: row.id } satisfies JobMessage, delaySeconds };
}

/**
 * Sends messages, at most 100 per sendBatch. A failed send is logged, not thrown: the rows are
 * committed, so the tick's outbox rescue delivers them later. Answers how many sends failed.
 */
export async function sendMessages(
  queue: Queue<JobMessage>,
  rows: Pick<JobRow, "tenantId" | "id" | "runAt">[],
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

/** Persist, then enqueue: all rows in one D1 batch (all or nothing), then the messages. */
export async function enqueueJobs(inputs: EnqueueInput[], ctx: EnqueueContext): Promise<JobRow[]> {
  const rows = inputs.map((input, i) => buildJobRow(input, ctx, inputs.length > 1 ? `jobs.${i}` : ""));
  const inserts = rows.map((row) => insertJob(ctx.db, row).returning());
  const inserted = (await ctx.db.batch(inserts as unknown as [Statement, ...Statement[]])) as JobRow[][];
  const saved = inserted.flat();
  const toSend = saved.filter((row) => row.status === "queued");
  await sendMessages(ctx.queue, toSend, ctx.now, ctx.log);
  for (const row of saved) {
    ctx.log.info("job enqueued", { jobId: row.id, type: row.type, status: row.status, ...JSON.parse(row.metadata) });
  }
  return saved;
}
