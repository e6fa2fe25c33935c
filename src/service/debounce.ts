// Debounced enqueue (issue #16): every item with `debounce` goes to its window's KeyGate, which writes the job to D1.
import { ApiError } from "../contract/errors";
import type { JobMessage, JobOptions } from "../contract/job";
import type { EnqueueInput } from "../contract/schemas";
import { PayloadValidationError } from "../core/enqueue-errors";
import { d1Of } from "../db/client";
import { deleteCreatedJobs } from "../db/debounce-statements";
import { storedJobRow } from "../db/job-insert";
import { rowToJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { recordTenant } from "../db/tenants";
import { type DebounceSettings, debounceIssues } from "../gate/debounce";
import { debounceGate, idempotencyGate } from "../gate/gate-client";
import type { DebounceAnswer } from "../gate/key-gate";
import { buildJobRow, type EnqueueContext, type Enqueued, sendMessages } from "./enqueue";

/** An enqueue item that may carry `debounce` (the contract's EnqueueInput once its schema names it). */
export type DebouncedInput = EnqueueInput & { debounce?: DebounceSettings | undefined };

/** The plain producer (service/enqueue.ts) for the items without debounce, with their paths in the request. */
export type PlainEnqueue = (inputs: EnqueueInput[], ctx: EnqueueContext, paths: string[]) => Promise<Enqueued[]>;

/** `debounceSeq`: the item's place in its window as the gate applied it (1 opened it); absent for plain items. */
export type DebouncedEnqueued = Enqueued & { debounced: boolean; debounceSeq?: number };

type Planned = { index: number; settings: DebounceSettings; row: JobRow };

/**
 * Validates every item first (nothing is written and no window moves on a refusal), then enqueues the plain items
 * as usual, then applies the debounced ones: one gate per key, in parallel across keys; items of one request sharing
 * a key go through it in request order, so the last one wins. Answers in request order; `debounced` marks an item
 * that replaced an open window's job (HTTP answers it 200 with header `Debounced: true`).
 *
 * All or nothing when a gate fails: the plain items' messages are held until every gate has answered; if one fails,
 * the rows this request created (its plain ones, and debounced ones no other arrival has replaced since) are deleted
 * before any message went out, their idempotency keys are released, and the request fails as a whole (`internal`,
 * saying nothing was enqueued). A debounced item that replaced an existing window's job stays applied: sending the
 * request again replaces that same job again, so a retry converges to what one successful request makes.
 */
export async function enqueueWithDebounce(
  inputs: DebouncedInput[],
  ctx: EnqueueContext,
  plain: PlainEnqueue,
): Promise<DebouncedEnqueued[]> {
  const paths = inputs.map((_, i) => (inputs.length > 1 ? `jobs.${i}` : ""));
  const planned: Planned[] = [];
  const plainAt: number[] = [];
  inputs.forEach((input, index) => {
    if (input.debounce) planned.push(planDebounced(input, input.debounce, ctx, index, paths[index] ?? ""));
    else plainAt.push(index);
  });
  const gates = ctx.gates;
  if (!gates) throw new Error("debounce needs the KEY_GATE binding in the enqueue context");

  const answers: (DebouncedEnqueued | undefined)[] = new Array(inputs.length);
  const held = heldQueue();
  let plainDone: Enqueued[] = [];
  if (plainAt.length > 0) {
    const done = await plain(
      plainAt.map((i) => inputs[i] as EnqueueInput),
      { ...ctx, queue: held.queue },
      plainAt.map((i) => paths[i] ?? ""),
    );
    plainDone = done;
    done.forEach((enqueued, k) => {
      answers[plainAt[k] ?? 0] = { ...enqueued, debounced: false };
    });
  } else {
    // The plain producer records the tenant; a request of debounced items only must too (the tick's sweeps walk tenants).
    await recordTenant(ctx.db, ctx.tenant, ctx.now);
  }

  const byKey = new Map<string, Planned[]>();
  for (const item of planned) {
    const group = byKey.get(item.settings.key);
    if (group) group.push(item);
    else byKey.set(item.settings.key, [item]);
  }
  const gateAnswers = new Map<number, DebounceAnswer>();
  const outcomes = await Promise.allSettled(
    [...byKey].map(async ([key, items]) => {
      const gate = debounceGate(gates, ctx.tenant, key);
      for (const item of items) {
        gateAnswers.set(
          item.index,
          await gate.debounce({ row: item.row, settings: item.settings, now: ctx.now, shard: ctx.shard }),
        );
      }
    }),
  );
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failure) await takeBack(ctx, gates, plainDone, [...gateAnswers.values()], held, failure.reason);
  // Every gate answered: the plain items' messages go now (sendBatch as the plain producer would have).
  await held.release(ctx.queue, ctx);

  // Rows are committed (by their gates) before any message goes out.
  const toSend = [...gateAnswers.values()].filter((a) => a.sendMessage).map((a) => a.row);
  if (toSend.length > 0) await sendMessages(ctx.queue, toSend, ctx.now, ctx.log);
  for (const item of planned) {
    const answer = gateAnswers.get(item.index);
    if (!answer) throw new Error("a debounce gate gave no answer");
    const { row } = answer;
    const input = inputs[item.index];
    const metadata = input?.metadata ?? {};
    const log = Object.keys(metadata).length > 0 ? ctx.log.withMetadata(metadata) : ctx.log;
    const debounced = answer.kind === "replaced";
    log.info(debounced ? "job debounced" : "job enqueued", {
      jobId: row.id,
      type: row.type,
      status: row.status,
      debounceSeq: answer.seq,
    });
    answers[item.index] = { row, replayed: false, debounced, debounceSeq: answer.seq, toJob: () => rowToJob(row) };
  }
  return answers.map((answer) => {
    if (!answer) throw new Error("an enqueue item got no answer");
    return answer;
  });
}

/** A queue that keeps the plain producer's sends until the whole request has landed. */
function heldQueue() {
  const batches: MessageSendRequest<JobMessage>[][] = [];
  const queue = {
    async send(body: JobMessage, options?: QueueSendOptions) {
      batches.push([{ body, ...options }]);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<JobMessage>>) {
      batches.push([...messages]);
    },
  } as unknown as Queue<JobMessage>;
  return {
    queue,
    /** Sends what was held; a failed send is logged, as sendMessages does (the rows are committed: the tick re-sends). */
    async release(real: Queue<JobMessage>, ctx: EnqueueContext) {
      for (const batch of batches.splice(0)) {
        try {
          await real.sendBatch(batch);
        } catch (err) {
          ctx.log.warn("queue send failed; the tick will re-send", {
            jobIds: batch.map((m) => m.body.id),
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    },
    drop() {
      batches.length = 0;
    },
  };
}

/**
 * A gate failed: deletes the rows this request created (none has a message yet) and releases their idempotency keys,
 * then throws. If the delete itself fails the rows stay, so their messages go and the error says so.
 */
async function takeBack(
  ctx: EnqueueContext,
  gates: NonNullable<EnqueueContext["gates"]>,
  plainDone: Enqueued[],
  gateAnswers: DebounceAnswer[],
  held: ReturnType<typeof heldQueue>,
  cause: unknown,
): Promise<never> {
  const createdPlain = plainDone.filter((e) => !e.replayed).map((e) => e.row);
  const createdDebounced = gateAnswers.filter((a) => a.kind === "created").map((a) => a.row);
  const ids = [...new Set([...createdPlain, ...createdDebounced].map((r) => r.id))];
  const error = cause instanceof Error ? cause.message : String(cause);
  try {
    await deleteCreatedJobs(d1Of(ctx.db), ctx.tenant, ids);
  } catch (err) {
    ctx.log.error("debounce gate failed and its request's rows could not be taken back", {
      jobIds: ids,
      error,
      deleteError: err instanceof Error ? err.message : String(err),
    });
    await held.release(ctx.queue, ctx);
    throw new ApiError("internal", "a debounce gate failed; some jobs of this request may have been enqueued");
  }
  held.drop();
  await Promise.allSettled(
    createdPlain.flatMap((row) =>
      row.idempotencyKey ? [idempotencyGate(gates, ctx.tenant, row.idempotencyKey).unclaim(row.id)] : [],
    ),
  );
  ctx.log.error("debounce gate failed; the request was taken back", { jobIds: ids, error });
  throw new ApiError("internal", "a debounce gate failed; nothing from this request was enqueued, retry it");
}

/** The row a debounced item would store: validated like any enqueue, with its debounce settings in the options. */
function planDebounced(
  input: DebouncedInput,
  debounce: DebounceSettings,
  ctx: EnqueueContext,
  index: number,
  path: string,
): Planned {
  const issues = debounceIssues({ ...input, debounce }, path);
  if (issues.length > 0) throw new PayloadValidationError("invalid request", issues);
  const row = storedJobRow(buildJobRow(input, ctx, path));
  const settings: DebounceSettings = {
    key: debounce.key,
    seconds: debounce.seconds,
    ...(debounce.maxWaitSeconds !== undefined ? { maxWaitSeconds: debounce.maxWaitSeconds } : {}),
  };
  const options: JobOptions = { ...(JSON.parse(row.options) as JobOptions), debounce: settings };
  row.options = JSON.stringify(options);
  return { index, settings, row };
}
