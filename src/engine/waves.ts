// Attempt + settle as you go: runs the admitted jobs and commits their outcomes in small waves as they finish,
// with the claims of the jobs still running; each message is acked or re-sent right after its own outcome commits.

import type { JobMessage, JobOptions } from "../contract/job";
import type { JobDefinition } from "../core/define-job";
import { newId } from "../core/ids";
import type { Logger } from "../core/logger";
import {
  type AttemptRef,
  callbackPendingStatement,
  claimManyStatements,
  outcomeStatement,
  returnedKeys,
  type SucceedWrite,
  succeedManyStatements,
} from "../db/consumer-statements";
import { counterUpserts } from "../db/counters";
import type { JobRow } from "../db/schema";
import type { GateNamespace } from "../gate/gate-client";
import { createTally, minuteOf } from "../metrics/tally";
import { pendingState } from "../webhooks/callback-state";
import { enqueueCallbacks, type FinishedJob } from "../webhooks/callbacks";
import { type AttemptOutcome, type AttemptStop, ClaimLostError, runAttempt } from "./attempt";
import { commit, type Write } from "./commit";
import { Deadlines } from "./deadlines";
import type { Delivery } from "./delivery";
import { type FlowLease, releaseLeases } from "./gate";
import { CLAIM_AFTER_MS, CLAIM_RETRY_MS, leaseMsFor, WAVE_EVERY_MS, WRITE_FAILURE_RETRY_SECONDS } from "./limits";
import { type Settlement, settle } from "./settle";
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
  });
}

/** One wave: the finished jobs' outcomes (with their callbacks and counters) and the claims due, in one batch. */
async function commitWave(settling: Finished[], claims: Run[], deps: WaveDeps): Promise<void> {
  const now = deps.now();
  const writes: Write<Tag>[] = [];
  const extras: Write<Tag>[] = [];
  const successes: Written[] = [];
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
    if (settlement.write.kind === "succeed") successes.push({ run, settlement });
    else
      writes.push({
        statement: outcomeStatement(deps.d1, settlement.write),
        tag: { kind: "outcome", entry: { run, settlement } },
      });
    tally.attempt(run.row.tenantId, run.row.type, settlement.end, settlement.durationMs);
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

  // Callback marks go after the outcomes they depend on: the batch runs in order, as one transaction.
  const committed = await commit(deps.d1, [...writes, ...extras]);
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
    } else run.delivery.message.ack();
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
    } else if (tag.kind === "outcome") settled(tag.entry, landed);
    else if (tag.kind === "successes") {
      const keys = result ? returnedKeys(result) : new Set<string>();
      for (const entry of tag.entries) settled(entry, keys.has(`${entry.run.row.tenantId}/${entry.run.row.id}`));
    }
  }
  // Slots are given back once the outcomes are recorded (one KeyGate call per key per wave).
  await Promise.all([
    releaseLeases(deps.gates, release, deps.log),
    sendWaits(deps.queue, nextAttempts, deps.log),
    enqueueCallbacks(deps.queue, callbacks, deps.log),
  ]);
}
