// Completion callbacks: marked pending with the job's outcome, then delivered (signed) from the jobs queue with retries.

import { configOf } from "../core/config";
import { describeError } from "../core/errors";
import type { Logger } from "../core/logger";
import { log as rootLog } from "../core/logger";
import { needsWatch } from "../core/rescue-window";
import { saveCallbackStateStatement } from "../db/callback-state";
import { openDb } from "../db/client";
import { loadJobs, rowToJob, type Statement } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { deliverBatchCallbacks, isBatchCallbackMessage } from "./batch-callbacks";
import { afterAttempt, type CallbackEvent, type CallbackState } from "./callback-state";
import { callbackSigningSecretsByTenant } from "./secret-store";
import { postSigned } from "./signed-post";

/** Shares the jobs queue with job messages; `kind` tells them apart. Carries ids only, like a job message. */
export type CallbackMessage = { kind: "callback"; tenant: string; id: string };

/** Also true for a batch callback's message, so the consumer hands both kinds to deliverCallbacks. */
export function isCallbackMessage(body: unknown): body is CallbackMessage {
  if (typeof body !== "object" || body === null) return false;
  if (isBatchCallbackMessage(body)) return true;
  const b = body as Record<string, unknown>;
  return b.kind === "callback" && typeof b.tenant === "string" && typeof b.id === "string";
}

export type FinishedJob = { row: JobRow; status: "succeeded" | "dead" };

/** When the state write of a delivery batch fails, its messages come back after this delay. */
const WRITE_FAILURE_RETRY_SECONDS = 10;

export const callbackMessage = (row: Pick<JobRow, "tenantId" | "id">): CallbackMessage => ({
  kind: "callback",
  tenant: row.tenantId,
  id: row.id,
});

/** After the outcome batch committed: one message per pending callback. A failed send leaves the state pending (logged). */
export async function enqueueCallbacks(queue: Queue, finished: FinishedJob[], log: Logger): Promise<void> {
  const messages = finished.filter(({ row }) => row.callbackUrl).map(({ row }) => ({ body: callbackMessage(row) }));
  if (messages.length === 0) return;
  try {
    await queue.sendBatch(messages);
  } catch (err) {
    log.error("callback messages not sent; their callbacks stay pending", {
      jobIds: messages.map((m) => m.body.id),
      error: describeError(err).message,
    });
  }
}

export type DeliveryDeps = { now: () => number; random: () => number };
const defaultDeps: DeliveryDeps = { now: Date.now, random: Math.random };

type Delivery = { message: Message<unknown>; row: JobRow & { callbackUrl: string }; state: CallbackState };

/** The consumer's branch for callback messages: deliver each pending callback once, record it, then ack or retry. Never throws. */
export async function deliverCallbacks(
  received: readonly Message<unknown>[],
  env: Env,
  deps: DeliveryDeps = defaultDeps,
): Promise<void> {
  let messages = received;
  if (messages.length === 0) return;
  const batches = messages.filter((message) => isBatchCallbackMessage(message.body));
  if (batches.length > 0) {
    await deliverBatchCallbacks(batches, env, deps);
    messages = messages.filter((message) => !isBatchCallbackMessage(message.body));
    if (messages.length === 0) return;
  }
  try {
    await deliver(messages, env, deps);
  } catch (err) {
    rootLog.error("callback delivery batch failed; retried", { error: describeError(err).message });
    for (const message of messages) message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
  }
}

async function deliver(messages: readonly Message<unknown>[], env: Env, deps: DeliveryDeps): Promise<void> {
  const db = openDb(env.DB);
  const rows = await loadJobs(
    db,
    messages.map((m) => m.body as CallbackMessage),
  );
  const rowByKey = new Map(rows.map((row) => [`${row.tenantId}/${row.id}`, row]));
  const due: Delivery[] = [];
  const superseded: Delivery[] = [];
  for (const message of messages) {
    const body = message.body as CallbackMessage;
    const row = rowByKey.get(`${body.tenant}/${body.id}`);
    const state = row?.callbackState ? (JSON.parse(row.callbackState) as CallbackState) : null;
    // Deleted job, or a duplicate message for a delivery that is already over.
    if (!row?.callbackUrl || state?.status !== "pending") {
      message.ack();
      continue;
    }
    const delivery = { message, row: row as Delivery["row"], state };
    if (row.status === (state.event === "job.succeeded" ? "succeeded" : "dead")) due.push(delivery);
    else superseded.push(delivery);
  }

  const now = deps.now();
  const secrets = await callbackSigningSecretsByTenant(db, [...new Set(due.map((d) => d.row.tenantId))], now);
  const allowPrivate = configOf(env).allowPrivateTargets;
  const attempted = await Promise.all(
    due.map(async (d) => {
      const result = await attemptDelivery(d, secrets.get(d.row.tenantId) ?? [], allowPrivate, now);
      return { ...d, ...afterAttempt(d.state, result, deps.now(), deps.random) };
    }),
  );
  // A job retried by hand before its callback went out: that outcome is gone, so is its callback.
  const closed = superseded.map((d) => ({
    ...d,
    ...afterAttempt(
      d.state,
      {
        ok: false,
        status: null,
        error: `superseded: the job is ${d.row.status} again`,
        final: true,
        retryAfterSeconds: null,
      },
      now,
      deps.random,
    ),
  }));

  const outcomes = [...attempted, ...closed];
  if (outcomes.length === 0) return;
  try {
    const writes: Statement[] = outcomes.map((o) =>
      saveCallbackStateStatement(
        db,
        o.row.tenantId,
        o.row.id,
        o.state.webhookId,
        JSON.stringify(o.state),
        o.state.status === "pending" && needsWatch(o.row.id, Date.parse(o.state.nextAttemptAt ?? "") || now),
      ),
    );
    await db.batch(writes as [Statement, ...Statement[]]);
  } catch (err) {
    // Not recorded, so not acked: the receivers may see a message again, with the same webhook-id.
    rootLog.error("callback state write failed; deliveries retried", { error: describeError(err).message });
    for (const o of outcomes) o.message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
    return;
  }
  for (const o of outcomes) {
    const fields = {
      jobId: o.row.id,
      tenant: o.row.tenantId,
      webhookId: o.state.webhookId,
      event: o.state.event,
      attempts: o.state.attempts,
      status: o.state.lastStatus,
    };
    if (o.retryInSeconds === null) {
      if (o.state.status === "delivered") rootLog.info("callback delivered", fields);
      else rootLog.error("callback failed; giving up", { ...fields, error: o.state.lastError });
      o.message.ack();
    } else {
      rootLog.warn("callback failed; retrying", {
        ...fields,
        error: o.state.lastError,
        delaySeconds: o.retryInSeconds,
      });
      o.message.retry({ delaySeconds: o.retryInSeconds });
    }
  }
}

/** The callback's body: the same bytes on every attempt of one delivery. */
export function callbackBody(row: JobRow, event: CallbackEvent): string {
  const { callback: _state, ...job } = rowToJob(row);
  return JSON.stringify({ type: event, timestamp: job.finishedAt ?? job.updatedAt, data: job });
}

function attemptDelivery({ row, state }: Delivery, secrets: string[], allowPrivate: boolean, now: number) {
  return postSigned(row.callbackUrl, callbackBody(row, state.event), secrets, state.webhookId, allowPrivate, now);
}
