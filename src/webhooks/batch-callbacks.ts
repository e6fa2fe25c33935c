// Batch callbacks: a finished batch's signed batch.succeeded / batch.completed event, delivered from the jobs queue with retries.

import type { BatchCallbackState } from "../contract/batches";
import { configOf } from "../core/config";
import { describeError } from "../core/errors";
import { log as rootLog } from "../core/logger";
import { loadBatchRows, pendingBatchCallbacks, rowToBatch, saveBatchCallbackStatement } from "../db/batch-statements";
import { openDb } from "../db/client";
import type { BatchRow } from "../db/schema";
import { afterAttempt } from "./callback-state";
import { callbackSigningSecretsByTenant } from "./secret-store";
import { postSigned } from "./signed-post";

/** Shares the jobs queue with job messages and job callbacks; carries ids only. */
export type BatchCallbackMessage = { kind: "batch-callback"; tenant: string; id: string };

export const batchCallbackMessage = (tenant: string, id: string): BatchCallbackMessage => ({
  kind: "batch-callback",
  tenant,
  id,
});

export function isBatchCallbackMessage(body: unknown): body is BatchCallbackMessage {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return b.kind === "batch-callback" && typeof b.tenant === "string" && typeof b.id === "string";
}

/** The event's body: the same bytes on every attempt of one delivery (the batch is finished, so it no longer changes). */
export function batchCallbackBody(row: BatchRow, event: BatchCallbackState["event"]): string {
  const { callback: _state, ...batch } = rowToBatch(row);
  return JSON.stringify({ type: event, timestamp: batch.finishedAt, data: { ...batch, callback: null } });
}

const WRITE_FAILURE_RETRY_SECONDS = 10;

type Deps = { now: () => number; random: () => number };

/** Delivers each pending batch callback once, records it, then acks or retries its message. Never throws. */
export async function deliverBatchCallbacks(messages: readonly Message<unknown>[], env: Env, deps: Deps) {
  try {
    await deliver(messages, env, deps);
  } catch (err) {
    rootLog.error("batch callback delivery failed; retried", { error: describeError(err).message });
    for (const message of messages) message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
  }
}

async function deliver(messages: readonly Message<unknown>[], env: Env, deps: Deps) {
  const rows = await loadBatchRows(
    env.DB,
    messages.map((m) => m.body as BatchCallbackMessage),
  );
  const byKey = new Map(rows.map((row) => [`${row.tenantId}/${row.id}`, row]));
  const due: { message: Message<unknown>; row: BatchRow & { callbackUrl: string }; state: BatchCallbackState }[] = [];
  const seen = new Set<string>();
  for (const message of messages) {
    const body = message.body as BatchCallbackMessage;
    const key = `${body.tenant}/${body.id}`;
    const row = byKey.get(key);
    const state = row?.callbackState ? (JSON.parse(row.callbackState) as BatchCallbackState) : null;
    // Gone, not finished, over already, or a second message for it in this batch: nothing to send.
    if (!row?.callbackUrl || row.status === "running" || state?.status !== "pending" || seen.has(key)) {
      message.ack();
      continue;
    }
    seen.add(key);
    due.push({ message, row: row as BatchRow & { callbackUrl: string }, state });
  }
  if (due.length === 0) return;
  const now = deps.now();
  const db = openDb(env.DB);
  const secrets = await callbackSigningSecretsByTenant(db, [...new Set(due.map((d) => d.row.tenantId))], now);
  const allowPrivate = configOf(env).allowPrivateTargets;
  const attempted = await Promise.all(
    due.map(async (d) => {
      const body = batchCallbackBody(d.row, d.state.event);
      const secretsOf = secrets.get(d.row.tenantId) ?? [];
      const result = await postSigned(d.row.callbackUrl, body, secretsOf, d.state.webhookId, allowPrivate, now);
      return { ...d, ...afterAttempt(d.state, result, deps.now(), deps.random) };
    }),
  );
  try {
    await env.DB.batch(
      attempted.map((a) =>
        saveBatchCallbackStatement(env.DB, a.row.tenantId, a.row.id, a.state.webhookId, JSON.stringify(a.state)),
      ),
    );
  } catch (err) {
    // Not recorded, so not acked: the receiver may see it again, with the same webhook-id.
    rootLog.error("batch callback state write failed; retried", { error: describeError(err).message });
    for (const a of attempted) a.message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
    return;
  }
  for (const a of attempted) {
    const fields = { batchId: a.row.id, tenant: a.row.tenantId, webhookId: a.state.webhookId, event: a.state.event };
    if (a.retryInSeconds === null) {
      if (a.state.status === "delivered") rootLog.info("batch callback delivered", fields);
      else rootLog.error("batch callback failed; giving up", { ...fields, error: a.state.lastError });
      a.message.ack();
    } else {
      rootLog.warn("batch callback failed; retrying", { ...fields, delaySeconds: a.retryInSeconds });
      a.message.retry({ delaySeconds: a.retryInSeconds });
    }
  }
}

/** A callback message lost after its batch finished: re-sent once it has been pending this long. */
export const BATCH_CALLBACK_RESCUE_AFTER_MS = 5 * 60_000;

/**
 * For the tick: re-sends the messages of finished batches whose callback is still pending and due, a page at a time
 * (a duplicate message is harmless: a delivery that is over acks it). Answers how many it sent.
 */
export async function rescueBatchCallbacks(d1: D1Database, queue: Queue, now: number, limit = 100): Promise<number> {
  const pending = await pendingBatchCallbacks(d1, now - BATCH_CALLBACK_RESCUE_AFTER_MS, limit);
  if (pending.length === 0) return 0;
  await queue.sendBatch(pending.map((b) => ({ body: batchCallbackMessage(b.tenant, b.id) })));
  return pending.length;
}
