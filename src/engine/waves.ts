// Attempt + settle as you go: runs the admitted jobs and commits their outcomes in small waves as they finish,
// with the claims of the jobs still running; each message is acked or re-sent right after its own outcome commits.

import type { JobMessage, JobOptions } from "../contract/job";
import type { JobDefinition, JobRegistry } from "../core/define-job";
import { newId } from "../core/ids";
import type { Logger } from "../core/logger";
import { EVENT_LOOKBACK_MS } from "../core/steps";
import {
  type AttemptRef,
  callbackPendingStatement,
  claimManyStatements,
  outcomeStatement,
  PARK_TOKEN_STEP,
  parkStatement,
  returnedKeys,
  type SucceedWrite,
  succeedManyStatements,
} from "../db/consumer-statements";
import { counterUpserts } from "../db/counters";
import { completeFromRecentEventStatement } from "../db/event-statements";
import type { JobRow } from "../db/schema";
import {
  childrenDoneStatements,
  type FinishedChild,
  insertChildrenStatements,
  insertParkedStepsStatement,
  type ParkedStepRow,
  recheckParkStatement,
  type WokenJob,
  wokenOf,
} from "../db/step-statements";
import type { GateNamespace } from "../gate/gate-client";
import { createTally, minuteOf } from "../metrics/tally";
import { sendMessages } from "../service/enqueue";
import { pendingState } from "../webhooks/callback-state";
import { enqueueCallbacks, type FinishedJob } from "../webhooks/callbacks";
import { type AttemptOutcome, type AttemptStop, ClaimLostError, runAttempt } from "./attempt";
import { batchProgress } from "./batch-progress";
import { commit, type Write } from "./commit";
import { Deadlines } from "./deadlines";
import type { Delivery } from "./delivery";
import { type FlowLease, releaseLeases } from "./gate";
import { CLAIM_AFTER_MS, CLAIM_RETRY_MS, leaseMsFor, WAVE_EVERY_MS, WRITE_FAILURE_RETRY_SECONDS } from "./limits";
import { type Settlement, settle } from "./settle";
import { type Park, StepRunner } from "./step-runner";
import { childBuilder, d1StepStore } from "./step-store";
import { sendWaits, type Wait } from "./waits";

/** One admitted job, from its start to its settled outcome. */
export type Run = {
  delivery: Delivery;
  row: JobRow;
  definition: JobDefinition;
  options: JobOptions;
  lease: FlowLease | null;
  /** When the flow gate lets it start (rate limits schedule starts up to a few seconds ahead); null: now. */
  startAt: number | null;
  ref: AttemptRef;
  /** `none` until a wave claims it; `lost` when another delivery or a retry by hand took the job over. */
  claim: "none" | "claimed" | "lost";
  /** Real time after which an unclaimed run's claim is written (again, after a failed write). */
  claimDueAt: number;
  /** Ends the run (and aborts its ctx.signal) if its claim is lost. */
  stop: AttemptStop;
  log: Logger;
};

export type WaveDeps = {
  d1: D1Database;
  queue: Queue<JobMessage>;
  gates: GateNamespace;
  env: Env;
  log: Logger;
  now: () => number;
  random: () => number;
  /** For ctx.step.invoke: children are built like an enqueue of this deployment. */
  registry: JobRegistry;
  payloadLimitBytes: number;
  allowPrivateTargets: boolean;
  lanes: readonly string[];
};

type Finished = { run: Run; outcome: AttemptOutcome; finishedAt: number };
type Written = { run: Run; settlement: Extract<Settlement, { kind: "write" }> };
type Tag =
  /** One row's outcome (a retry or a dead mark). */
  | { kind: "outcome"; entry: Written }
  /** Many successes in one statement: each landed if the statement returned its row. */
  | { kind: "successes"; entries: Written[] }
  /** Many claims in one statement: each won if the statement returned its row. */
  | { kind: "claims"; runs: Run[] }
  /** A statement that answers (RETURNING) the jobs it woke (a park's re-check, parents of finished children). */
  | { kind: "wake" }
  /** Batch progress (recount, finish, finishers): its results go to the progress' afterCommit. */
  | { kind: "batch" }
  | { kind: "extra" };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Runs every job and settles each one; resolves once every outcome is committed (or handed back to the queue). */
export async function runAndSettle(runs: readonly Run[], deps: WaveDeps): Promise<void> {
  if (runs.length === 0) return;
  const batchStart = Date.now();
  const finished: Finished[] = [];
  let open = runs.length;
  // One timer for the whole batch: every attempt's timeout and the loop's own waits are deadlines on it.
  const deadlines = new Deadlines();
  let wake: (() => void) | undefined;
  /** Resolves once `ready()` holds when a job finishes, or at real time `at`. */
  const waitFor = (ready: () => boolean, at: number) =>
    new Promise<void>((resolve) => {
      const deadline = Number.isFinite(at)
        ? deadlines.add(at, () => {
            wake = undefined;
            resolve();
          })
        : undefined;
      wake = () => {
        if (!ready()) return;
        wake = undefined;
        if (deadline) deadlines.remove(deadline);
        resolve();
      };
    });
  const done = new Set<Run>();
  for (const run of runs) {
    void attempt(run, deps, deadlines).then((outcome) => {
      finished.push({ run, outcome, finishedAt: deps.now() });
      done.add(run);
      open--;
      wake?.();
    });
  }
  const unclaimed = () => runs.filter((run) => run.claim === "none" && !done.has(run));

  let waves = 0;
  let lastWaveAt = 0;
  while (open > 0 || finished.length > 0) {
    if (waves === 0) {
      // The first wave: when the claim timer fires, or as soon as every job is done (a batch of fast jobs: one wave).
      if (open > 0 && Date.now() < batchStart + CLAIM_AFTER_MS) {
        await waitFor(() => open === 0, batchStart + CLAIM_AFTER_MS);
      }
    } else {
      // Later waves: once something is due (an outcome, or a claim whose write failed), at most every WAVE_EVERY_MS.
      for (;;) {
        const now = Date.now();
        const pending = unclaimed();
        if (finished.length > 0 || open === 0 || pending.some((run) => run.claimDueAt <= now)) break;
        const nextClaim = Math.min(...pending.map((run) => run.claimDueAt));
        await waitFor(() => finished.length > 0 || open === 0, nextClaim);
      }
      if (finished.length === 0 && open === 0) break;
      await sleep(lastWaveAt + WAVE_EVERY_MS - Date.now());
    }
    lastWaveAt = Date.now();
    waves++;
    const claims = unclaimed().filter((run) => run.claimDueAt <= lastWaveAt);
    await commitWave(finished.splice(0), claims, deps);
  }
}

async function attempt(run: Run, deps: WaveDeps, deadlines: Deadlines): Promise<AttemptOutcome> {
  if (run.startAt !== null) await sleep(run.startAt - Date.now());
  // A run claimed before it started keeps the start its claim recorded.
  if (run.claim === "none") run.ref.startedAt = deps.now();
  run.log.info("job started", { status: "running" });
  return runAttempt({
    definition: run.definition,
    payload: JSON.parse(run.row.payload),
    jobId: run.row.id,
    tenant: run.row.tenantId,
    attempt: run.ref.attempt,
    timeoutSeconds: run.options.timeoutSeconds,
    stop: run.stop,
    deadlines,
    env: deps.env,
    log: run.log,
    steps: (onPark) => {
      const job = { tenant: run.row.tenantId, id: run.row.id };
      return new StepRunner(
        {
          store: d1StepStore(deps.d1, job.tenant, job.id),
          now: deps.now,
          buildChild: childBuilder({ ...deps, queue: deps.queue as Queue<never> }, job, deps.now),
        },
        onPark,
      );
    },
  });
}

/** A park's rows after its own write, in the same batch: its waiting steps, its children, event lookups, re-check. */
function parkStatements(d1: D1Database, run: Run, at: number, park: Park): Write<Tag>[] {
  // The park write bumped the run token: its rows are conditional on the row as that write left it.
  const ref = { tenant: run.row.tenantId, jobId: run.row.id, token: run.ref.token + PARK_TOKEN_STEP, at };
  const writes: Write<Tag>[] = [];
  const extra = (statement: D1PreparedStatement): Write<Tag> => ({ statement, tag: { kind: "extra" } });
  const fresh = park.steps.filter((step) => !step.existing);
  if (fresh.length > 0) {
    const rows = fresh.map((s): ParkedStepRow => [s.name, s.kind, s.wakeAt, s.event, s.key, s.childId]);
    writes.push(extra(insertParkedStepsStatement(d1, ref, rows)));
  }
  for (const statement of insertChildrenStatements(d1, ref, park.children)) writes.push(extra(statement));
  for (const step of fresh) {
    if (step.kind === "event") {
      writes.push(
        extra(
          completeFromRecentEventStatement(d1, {
            tenant: ref.tenant,
            jobId: ref.jobId,
            step: step.name,
            event: step.event ?? "",
            key: step.key,
            // From the wait's call (the run may have gone on long after it), within what the prune keeps.
            since: Math.min(step.calledAt ?? at, at) - EVENT_LOOKBACK_MS,
            now: at,
          }),
        ),
      );
    }
  }
  // An event or a child may have completed a step while this run went on: the park then wakes the job itself.
  const events = park.steps.filter((step) => step.kind === "event").map((step) => step.name);
  const oldChildren = park.steps.some((step) => step.kind === "invoke" && step.existing);
  if (events.length > 0 || oldChildren) {
    const waitsOnChildren = park.steps.some((step) => step.kind === "invoke");
    writes.push({ statement: recheckParkStatement(d1, ref, events, waitsOnChildren), tag: { kind: "wake" } });
  }
  return writes;
}

/** One wave: the finished jobs' outcomes (with their callbacks and counters) and the claims due, in one batch. */
async function commitWave(settling: Finished[], claims: Run[], deps: WaveDeps): Promise<void> {
  const now = deps.now();
  const writes: Write<Tag>[] = [];
  const extras: Write<Tag>[] = [];
  const successes: Written[] = [];
  const parks: Write<Tag>[] = [];
  const children: FinishedChild[] = [];
  const dropped: { run: Run; settlement: Extract<Settlement, { kind: "drop" }> }[] = [];
  const tally = createTally();
  for (const { run, outcome, finishedAt } of settling) {
    const settlement = settle({
      row: run.row,
      ref: run.ref,
      options: run.options,
      outcome,
      claimLost: run.claim === "lost",
      finishedAt,
      random: deps.random,
    });
    if (settlement.kind === "drop") {
      dropped.push({ run, settlement });
      continue;
    }
    const { write } = settlement;
    if (write.kind === "succeed") successes.push({ run, settlement });
    else if (write.kind === "park" && settlement.after.kind === "park") {
      writes.push({ statement: parkStatement(deps.d1, write), tag: { kind: "outcome", entry: { run, settlement } } });
      parks.push(...parkStatements(deps.d1, run, write.at, settlement.after.park));
    } else if (write.kind !== "park") {
      writes.push({
        statement: outcomeStatement(deps.d1, write),
        tag: { kind: "outcome", entry: { run, settlement } },
      });
    }
    if (settlement.end) tally.attempt(run.row.tenantId, run.row.type, settlement.end, settlement.durationMs);
    // A child's final outcome completes its parent's invoke step (and may wake the parent), in the same batch.
    if (settlement.finished && run.row.parentId) {
      children.push({
        tenant: run.row.tenantId,
        id: run.row.id,
        status: settlement.finished,
        finishedAt,
      });
    }
    // Callback state commits with the outcome it reports (and lands only if that outcome did).
    if (settlement.finished && run.row.callbackUrl) {
      const event = settlement.finished === "succeeded" ? "job.succeeded" : "job.dead";
      const state = JSON.stringify(pendingState(event, newId("msg", finishedAt)));
      extras.push({
        statement: callbackPendingStatement(deps.d1, run.delivery.job, settlement.finished, finishedAt, state),
        tag: { kind: "extra" },
      });
    }
  }
  const successWrite = ({ settlement }: Written) => settlement.write as SucceedWrite;
  for (const { statement, items } of succeedManyStatements(deps.d1, successes, successWrite)) {
    writes.push({ statement, tag: { kind: "successes", entries: items } });
  }
  const claimOf = (run: Run) => ({ ref: run.ref, leaseUntil: now + leaseMsFor(run.options.timeoutSeconds) });
  for (const { statement, items } of claimManyStatements(deps.d1, claims, claimOf, now)) {
    writes.push({ statement, tag: { kind: "claims", runs: items } });
  }
  // One counters upsert per (tenant, type) per wave, committed with the outcomes it counts.
  for (const statement of counterUpserts(deps.d1, tally.entries(), minuteOf(now))) {
    extras.push({ statement, tag: { kind: "extra" } });
  }
  // Jobs of a batch (POST /v1/batches) recount it in the same transaction; no statement for jobs outside one.
  const progress = batchProgress(
    deps.d1,
    settling.map(({ run }) => run.row),
    now,
  );
  for (const statement of progress.statements) extras.push({ statement, tag: { kind: "batch" } });

  const done = childrenDoneStatements(deps.d1, children, now);
  if (done) {
    extras.push({ statement: done.steps, tag: { kind: "extra" } });
    extras.push({ statement: done.wake, tag: { kind: "wake" } });
  }

  // Callback marks, park rows and child reports go after the outcomes they depend on: the batch runs in order, as
  // one transaction.
  const committed = await commit(deps.d1, [...writes, ...parks, ...extras]);
  for (const { run, settlement } of dropped) {
    run.log[settlement.log.level](settlement.log.msg, settlement.log.fields);
    run.delivery.message.ack();
  }
  const release: FlowLease[] = dropped.flatMap(({ run }) => (run.lease ? [run.lease] : []));
  if (!committed.ok) {
    deps.log.error("wave write failed; its outcomes are retried, its claims written later", { error: committed.error });
    for (const { tag } of writes) {
      const entries = tag.kind === "outcome" ? [tag.entry] : tag.kind === "successes" ? tag.entries : [];
      for (const { run } of entries) {
        // Not recorded, so never acked: the queue brings the message back, and that delivery claims before it runs.
        run.delivery.message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
        if (run.lease) release.push(run.lease);
      }
      if (tag.kind === "claims") for (const run of tag.runs) run.claimDueAt = Date.now() + CLAIM_RETRY_MS;
    }
    await releaseLeases(deps.gates, release, deps.log);
    return;
  }

  const nextAttempts: Wait[] = [];
  const callbacks: FinishedJob[] = [];
  /** Messages to send once committed: children a park started, woken jobs, a park's own (delayed) wake. */
  const toSend: WokenJob[] = [];
  const woken: WokenJob[] = [];
  const settled = (entry: Written, landed: boolean) => {
    const { run, settlement } = entry;
    if (run.lease) release.push(run.lease);
    if (!landed) {
      // A cancel, a retry by hand or another delivery changed the job while it ran: that change is the record.
      run.log.warn("outcome dropped: the job changed while it ran", { status: run.row.status });
      run.delivery.message.ack();
      return;
    }
    run.log[settlement.log.level](settlement.log.msg, settlement.log.fields);
    if (settlement.after.kind === "nextAttempt") {
      nextAttempts.push({
        delivery: run.delivery,
        delaySeconds: settlement.after.delaySeconds,
        reason: "next attempt",
      });
    } else {
      run.delivery.message.ack();
      if (settlement.after.kind === "park") {
        const { park, wakeBySend } = settlement.after;
        for (const child of park.children) toSend.push(child);
        if (wakeBySend)
          toSend.push({ tenantId: run.row.tenantId, id: run.row.id, runAt: park.runAt, queue: run.row.queue });
      }
    }
    if (settlement.finished) callbacks.push({ row: run.row, status: settlement.finished });
  };
  for (const { tag, landed, result } of committed.writes) {
    if (tag.kind === "claims") {
      const won = result ? returnedKeys(result) : new Set<string>();
      for (const run of tag.runs) {
        if (won.has(`${run.row.tenantId}/${run.row.id}`)) {
          run.claim = "claimed";
          run.ref.claimed = true;
        } else {
          run.claim = "lost";
          run.log.warn("claim lost: another delivery or a retry by hand took the job over; run aborted");
          run.stop.stop(new ClaimLostError("another delivery or a retry by hand took the job over"));
        }
      }
    } else if (tag.kind === "wake") woken.push(...wokenOf(result));
    else if (tag.kind === "outcome") settled(tag.entry, landed);
    else if (tag.kind === "successes") {
      const keys = result ? returnedKeys(result) : new Set<string>();
      for (const entry of tag.entries) settled(entry, keys.has(`${entry.run.row.tenantId}/${entry.run.row.id}`));
    }
  }
  // Slots are given back once the outcomes are recorded (one KeyGate call per key per wave).
  // A job woken in this batch needs no delayed wake of its own any more.
  const wokenKeys = new Set(woken.map((job) => `${job.tenantId}/${job.id}`));
  const messages = [...woken, ...toSend.filter((job) => !wokenKeys.has(`${job.tenantId}/${job.id}`))];
  await Promise.all([
    releaseLeases(deps.gates, release, deps.log),
    sendWaits(deps.queue, nextAttempts, deps.log),
    enqueueCallbacks(deps.queue, callbacks, deps.log),
    messages.length > 0 ? sendMessages(deps.queue, messages, now, deps.log) : undefined,
    progress.afterCommit(
      committed.writes.filter((w) => w.tag.kind === "batch").map((w) => w.result),
      deps.queue,
      deps.log,
    ),
  ]);
}
