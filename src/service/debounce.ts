// Debounced enqueue (issue #16): every item with `debounce` goes to its window's KeyGate, which writes the job to D1.
import type { JobOptions } from "../contract/job";
import type { EnqueueInput } from "../contract/schemas";
import { PayloadValidationError } from "../core/enqueue-errors";
import { storedJobRow } from "../db/job-insert";
import { rowToJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { recordTenant } from "../db/tenants";
import { type DebounceSettings, debounceIssues } from "../gate/debounce";
import { debounceGate } from "../gate/gate-client";
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
  if (plainAt.length > 0) {
    const done = await plain(
      plainAt.map((i) => inputs[i] as EnqueueInput),
      ctx,
      plainAt.map((i) => paths[i] ?? ""),
    );
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
  await Promise.all(
    [...byKey].map(async ([key, items]) => {
      const gate = debounceGate(gates, ctx.tenant, key);
      for (const item of items) {
        gateAnswers.set(item.index, await gate.debounce({ row: item.row, settings: item.settings, now: ctx.now }));
      }
    }),
  );

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
