// The jobs queue's consumer: load → triage → gate → (early writes and claims) → attempt + settle in waves → commit.

import type { JobError } from "../contract/job";
import { configOf, jobQueueOf } from "../core/config";
import type { JobRegistry } from "../core/define-job";
import { describeError } from "../core/errors";
import { newId } from "../core/ids";
import { type Logger, log as rootLog } from "../core/logger";
import {
  type AttemptRef,
  callbackPendingStatement,
  claimStatement,
  deadLetterStatement,
  deferStatement,
  type LoadedRow,
  loadJobRows,
} from "../db/consumer-statements";
import { counterUpserts } from "../db/counters";
import type { JobRow } from "../db/schema";
import { childrenDoneStatements, type WokenJob, wokenOf } from "../db/step-statements";
import { createTally, minuteOf } from "../metrics/tally";
import { sendMessages } from "../service/enqueue";
import { pendingState } from "../webhooks/callback-state";
import { deliverCallbacks, enqueueCallbacks, type FinishedJob, isCallbackMessage } from "../webhooks/callbacks";
import { AttemptStop } from "./attempt";
import { batchProgress } from "./batch-progress";
import { commit, type Write } from "./commit";
import { type Delivery, jobKeyOf, readDeliveries } from "./delivery";
import { deferralLog, type FlowLease, type GateItem, gateFlows, gateJobs, releaseLeases } from "./gate";
import { infoLinesOn, jobLog } from "./job-log";
import { CLAIM_AFTER_MS, EARLY_FAILURE_WAIT_SECONDS, leaseMsFor, WRITE_FAILURE_RETRY_SECONDS } from "./limits";
import { triage } from "./triage";
import { sendWaits, type Wait } from "./waits";
import { type Run, runAndSettle } from "./waves";

export type ConsumerDeps = { now: () => number; random: () => number };
const defaultDeps: ConsumerDeps = { now: Date.now, random: Math.random };

export async function consumeJobs(
  batch: MessageBatch<unknown>,
  env: Env,
  registry: JobRegistry,
  deps: ConsumerDeps = defaultDeps,
): Promise<void> {
  // Completion callbacks share this queue; they are delivered beside the batch's jobs (src/webhooks/callbacks.ts).
  const callbacks = batch.messages.filter((message) => isCallbackMessage(message.body));
  const jobMessages = batch.messages.filter((message) => !isCallbackMessage(message.body));
  await Promise.all([deliverCallbacks(callbacks, env, deps), consumeJobMessages(jobMessages, env, registry, deps)]);
}

type Runnable = GateItem & {
  definition: NonNullable<ReturnType<JobRegistry["get"]>>;
  claimFirst: boolean;
  log: Logger;
};
type DeadLetter = { delivery: Delivery; row: JobRow; error: JobError; reason: string; log: Logger };

async function consumeJobMessages(
  messages: readonly Message<unknown>[],
  env: Env,
  registry: JobRegistry,
  deps: ConsumerDeps,
): Promise<void> {
  const deliveries = readDeliveries(messages, rootLog);
  if (deliveries.length === 0) return;
  const d1 = env.DB;
  const queue = jobQueueOf(env);
  let rows: JobRow[];
  try {
    rows = await loadJobRows(
      d1,
      deliveries.map((d) => d.job),
    );
  } catch (err) {
    // Nothing is known about these jobs yet: the queue brings every message back (the consumer failed on them).
    rootLog.error("job rows not loaded; batch retried", { error: describeError(err).message });
    for (const { message } of deliveries) message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
    return;
  }
  const now = deps.now();

  // Triage (pure): each delivery with its row.
  const rowByKey = new Map(rows.map((row) => [jobKeyOf({ tenant: row.tenantId, id: row.id }), row]));
  const seen = new Set<string>();
  const infoOn = infoLinesOn(env);
  const waits: Wait[] = [];
  const deadLetters: DeadLetter[] = [];
  const runnable: Runnable[] = [];
  for (const delivery of deliveries) {
    const key = jobKeyOf(delivery.job);
    const row = rowByKey.get(key);
    const decision = triage({
      row,
      deliveryAttempts: delivery.message.attempts,
      duplicateInBatch: seen.has(key),
      definition: row ? registry.get(row.type) : undefined,
      now,
    });
    seen.add(key);
    if (decision.kind === "ack") {
      rootLog.info("delivery acked", { jobId: delivery.job.id, tenant: delivery.job.tenant, reason: decision.reason });
      delivery.message.ack();
    } else if (decision.kind === "wait") waits.push({ delivery, ...decision });
    else if (row && decision.kind === "deadLetter") {
      deadLetters.push({
        delivery,
        row,
        error: decision.error,
        reason: decision.reason,
        log: jobLog(row, row.attempts, infoOn),
      });
    } else if (row && decision.kind === "run") {
      runnable.push({
        delivery,
        row,
        options: decision.options,
        definition: decision.definition,
        claimFirst: decision.claimFirst,
        leaseMs: leaseMsFor(decision.options.timeoutSeconds),
        log: jobLog(row, row.attempts + 1, infoOn),
      });
    }
  }

  // Gate: jobs of paused types are held (their rows are parked; a resume sends them again), then one KeyGate
  // call per flow key; held and deferred jobs and jobs whose gate is down leave the batch.
  // The hold is a statement of its own: only a batch whose load saw a paused type pays for it (a pause that lands
  // between the load and the run lets that run go, once).
  const mayBePaused = runnable.some((item) => (item.row as LoadedRow).typePaused === 1);
  const gated = mayBePaused
    ? await gateJobs(runnable, { d1, gates: env.KEY_GATE, log: rootLog, now })
    : await gateFlows(runnable, { gates: env.KEY_GATE, log: rootLog });
  for (const { item } of gated.paused) {
    item.log.info("job held: its type is paused", { status: "queued" });
    item.delivery.message.ack();
  }
  for (const { item, delaySeconds } of gated.unavailable) {
    waits.push({ delivery: item.delivery, delaySeconds, reason: "flow gate unavailable" });
  }
  const admitted = gated.admitted.map(({ item, startAt, lease }) => {
    const run: Run = {
      delivery: item.delivery,
      row: item.row,
      definition: item.definition,
      options: item.options,
      lease,
      startAt,
      ref: refOf(item.row, startAt ?? now),
      claim: "none",
      claimDueAt: Date.now() + CLAIM_AFTER_MS,
      stop: new AttemptStop(),
      log: item.log,
    };
    return { run, claimFirst: item.claimFirst };
  });
  const runs = admitted.map((a) => a.run);
  const claimFirst = admitted.filter((a) => a.claimFirst).map((a) => a.run);

  // Early writes, in one round trip before anything runs: dead letters, deferrals, claims of suspect redeliveries.
  const early = await commitEarly({ d1, deadLetters, deferred: gated.deferred, claimFirst, queue, now });
  waits.push(...early.waits);
  const released: FlowLease[] = early.notRun.flatMap((run) => (run.lease ? [run.lease] : []));
  await Promise.all([
    sendWaits(queue, waits, rootLog),
    enqueueCallbacks(queue, early.callbacks, rootLog),
    releaseLeases(env.KEY_GATE, released, rootLog),
    early.woken.length > 0 ? sendMessages(queue, early.woken, now, rootLog) : undefined,
  ]);

  const notRun = new Set(early.notRun);
  const config = configOf(env);
  await runAndSettle(
    runs.filter((run) => !notRun.has(run)),
    {
      d1,
      queue,
      gates: env.KEY_GATE,
      env,
      log: rootLog,
      now: deps.now,
      random: deps.random,
      registry,
      payloadLimitBytes: config.payloadLimitBytes,
      lanes: config.lanes,
      allowPrivateTargets: config.allowPrivateTargets,
    },
  );
}

const refOf = (row: JobRow, startedAt: number): AttemptRef => ({
  tenant: row.tenantId,
  id: row.id,
  attempt: row.attempts + 1,
  token: row.runToken,
  startedAt,
  claimed: false,
});

type EarlyTag =
  | { kind: "deadLetter"; dead: DeadLetter }
  | { kind: "defer"; item: Runnable; delaySeconds: number }
  | { kind: "claim"; run: Run }
  /** Parents woken by children that died here (RETURNING): each gets a message. */
  | { kind: "wake" }
  /** Batch progress of jobs dead here: its results go to the progress' afterCommit. */
  | { kind: "batch" }
  | { kind: "extra" };

/**
 * The writes a batch needs before it runs anything. If they fail, every job they concern waits (ack +
 * re-send) and is triaged again; the plain jobs of the batch run regardless.
 */
async function commitEarly(input: {
  d1: D1Database;
  deadLetters: DeadLetter[];
  deferred: { item: Runnable; delaySeconds: number }[];
  claimFirst: Run[];
  queue: Queue;
  now: number;
}): Promise<{ waits: Wait[]; callbacks: FinishedJob[]; notRun: Run[]; woken: WokenJob[] }> {
  const { d1, now } = input;
  const writes: Write<EarlyTag>[] = [];
  const tally = createTally();
  for (const dead of input.deadLetters) {
    writes.push({
      statement: deadLetterStatement(d1, dead.row, JSON.stringify(dead.error), now),
      tag: { kind: "deadLetter", dead },
    });
    tally.deadWithoutAttempt(dead.row.tenantId, dead.row.type);
    if (dead.row.callbackUrl) {
      const state = JSON.stringify(pendingState("job.dead", newId("msg", now)));
      writes.push({
        statement: callbackPendingStatement(d1, dead.delivery.job, "dead", now, state),
        tag: { kind: "extra" },
      });
    }
  }
  for (const { item, delaySeconds } of input.deferred) {
    const attemptLog = deferralLog(item.row, item.options.flow?.key ?? "", delaySeconds, now);
    writes.push({
      statement: deferStatement(d1, item.row, attemptLog, now + delaySeconds * 1000, now),
      tag: { kind: "defer", item, delaySeconds },
    });
    tally.deferred(item.row.tenantId, item.row.type);
  }
  for (const run of input.claimFirst) {
    writes.push({
      statement: claimStatement(d1, run.ref, now, now + leaseMsFor(run.options.timeoutSeconds)),
      tag: { kind: "claim", run },
    });
  }
  for (const statement of counterUpserts(d1, tally.entries(), minuteOf(now))) {
    writes.push({ statement, tag: { kind: "extra" } });
  }
  // Children dead without an attempt fail their parent's invoke step, after their dead marks (same transaction).
  const done = childrenDoneStatements(
    d1,
    input.deadLetters.flatMap(({ row }) =>
      row.parentId ? [{ tenant: row.tenantId, id: row.id, status: "dead" as const, finishedAt: now }] : [],
    ),
    now,
  );
  if (done) {
    writes.push({ statement: done.steps, tag: { kind: "extra" } });
    writes.push({ statement: done.wake, tag: { kind: "wake" } });
  }
  const progress = batchProgress(
    d1,
    input.deadLetters.map((dead) => dead.row),
    now,
  );
  for (const statement of progress.statements) writes.push({ statement, tag: { kind: "batch" } });
  const result = { waits: [] as Wait[], callbacks: [] as FinishedJob[], notRun: [] as Run[], woken: [] as WokenJob[] };
  if (writes.length === 0) return result;

  const committed = await commit(d1, writes);
  if (!committed.ok) {
    rootLog.error("early write failed; its jobs wait", { error: committed.error });
    for (const { tag } of writes) {
      if (tag.kind === "deadLetter") {
        result.waits.push({
          delivery: tag.dead.delivery,
          delaySeconds: EARLY_FAILURE_WAIT_SECONDS,
          reason: "early write failed",
        });
      } else if (tag.kind === "defer") {
        // The deferral is not recorded, but the gate's answer stands: the job comes back when it said.
        result.waits.push({ delivery: tag.item.delivery, delaySeconds: tag.delaySeconds, reason: "flow deferral" });
      } else if (tag.kind === "claim") {
        result.waits.push({
          delivery: tag.run.delivery,
          delaySeconds: EARLY_FAILURE_WAIT_SECONDS,
          reason: "early write failed",
        });
        result.notRun.push(tag.run);
      }
    }
    return result;
  }
  await progress.afterCommit(
    committed.writes.filter((w) => w.tag.kind === "batch").map((w) => w.result),
    input.queue,
    rootLog,
  );
  for (const { tag, landed, result: answer } of committed.writes) {
    if (tag.kind === "wake") result.woken.push(...wokenOf(answer));
    else if (tag.kind === "deadLetter") {
      const { dead } = tag;
      if (landed) {
        dead.log.error("job dead", { status: "dead", reason: dead.reason, error: dead.error.message });
        if (dead.row.callbackUrl) result.callbacks.push({ row: dead.row, status: "dead" });
      } else dead.log.warn("dead mark dropped: the job changed meanwhile");
      // Acked only once the dead mark committed (or lost to a change that is now the record).
      dead.delivery.message.ack();
    } else if (tag.kind === "defer") {
      if (landed) {
        tag.item.log.info("job deferred by flow control", {
          status: tag.item.row.status,
          delaySeconds: tag.delaySeconds,
        });
        result.waits.push({ delivery: tag.item.delivery, delaySeconds: tag.delaySeconds, reason: "flow deferral" });
      } else tag.item.delivery.message.ack();
    } else if (tag.kind === "claim") {
      if (landed) {
        tag.run.claim = "claimed";
        tag.run.ref.claimed = true;
      } else {
        // Another delivery took the job, or it changed: triage it again later rather than run it twice.
        result.waits.push({
          delivery: tag.run.delivery,
          delaySeconds: EARLY_FAILURE_WAIT_SECONDS,
          reason: "claim lost",
        });
        result.notRun.push(tag.run);
      }
    }
  }
  return result;
}
