// The batch consumer: load rows, claim, run handlers concurrently, write all outcomes in one D1 batch, then ack or retry.
import { type Db, openDb } from "../db/client";
import {
  type AttemptRef,
  attemptLogOf,
  claimStatement,
  deadLetterStatement,
  deadStatement,
  loadJobs,
  retryStatement,
  type Statement,
  succeedStatement,
} from "../db/jobs";
import { counterUpsertStatements } from "../db/metrics";
import type { JobRow } from "../db/schema";
import { gateFlows } from "../gate/flow-step";
import type { JobDefinition, JobRegistry } from "../jobs/define-job";
import { describeError, NonRetryableError } from "../jobs/errors";
import { log as rootLog } from "../jobs/logger";
import { decideAfterFailure } from "../jobs/state";
import { type AttemptLogEntry, FINISHED_STATUSES, type JobMessage, type JobOptions } from "../jobs/types";
import { createTally, minuteOf } from "../metrics/tally";
import {
  callbackPendingWrites,
  deliverCallbacks,
  enqueueCallbacks,
  type FinishedJob,
  isCallbackMessage,
} from "../webhooks/callbacks";
import { type AttemptOutcome, runAttempt } from "./run-attempt";

/**
 * A job is claimed in D1 only if its handler is still running after this long, so the common fast job
 * writes one row to finish instead of two (claim + outcome). Longer jobs show as `running`, with a lease.
 */
const CLAIM_AFTER_MS = 1_000;
/** A claim outlives the attempt's timeout by this much before another delivery may take the job over. */
const LEASE_SLACK_MS = 15_000;
/** When a write fails, the message comes back after this delay; the claim's lease keeps it from running twice. */
const WRITE_FAILURE_RETRY_SECONDS = 10;

export type ConsumerDeps = { now: () => number; random: () => number };
const defaultDeps: ConsumerDeps = { now: Date.now, random: Math.random };

function isJobMessage(body: unknown): body is JobMessage {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.tenant === "string" && typeof b.id === "string";
}

type Work = { message: Message<unknown>; row: JobRow; options: JobOptions; definition: JobDefinition };
type Started = Work & { ref: AttemptRef; lostClaim: boolean };

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

async function consumeJobMessages(
  batchMessages: readonly Message<unknown>[],
  env: Env,
  registry: JobRegistry,
  deps: ConsumerDeps,
): Promise<void> {
  const db = openDb(env.DB);
  const now = deps.now();
  const messages = batchMessages.filter((message) => {
    if (isJobMessage(message.body)) return true;
    rootLog.error("malformed queue message acked", { messageId: message.id });
    message.ack();
    return false;
  });
  if (messages.length === 0) return;

  const rows = await loadJobs(
    db,
    messages.map((m) => m.body as JobMessage),
  );
  const rowByKey = new Map(rows.map((row) => [`${row.tenantId}/${row.id}`, row]));

  const runnable: Work[] = [];
  const earlyWrites: Statement[] = [];
  /** Messages of jobs marked dead above: acked only once that write has committed. */
  const earlyDead: Message<unknown>[] = [];
  const earlyTally = createTally();
  for (const message of messages) {
    const body = message.body as JobMessage;
    const row = rowByKey.get(`${body.tenant}/${body.id}`);
    const jobLog = rootLog.child({ jobId: body.id, tenant: body.tenant });
    if (!row) {
      jobLog.warn("message for a job that no longer exists acked");
      message.ack();
      continue;
    }
    if (FINISHED_STATUSES.includes(row.status as never) || row.status === "scheduled") {
      // At-least-once delivery: a redelivered message for a finished job is acked without running it.
      jobLog.info("duplicate delivery acked", { status: row.status, type: row.type });
      message.ack();
      continue;
    }
    if (row.status === "running" && (row.leaseUntil ?? 0) >= now) {
      // Another delivery holds the job; come back when its lease would lapse, in case it died.
      message.retry({ delaySeconds: Math.max(1, Math.ceil(((row.leaseUntil ?? now) - now) / 1000) + 1) });
      continue;
    }
    const definition = registry.get(row.type);
    if (!definition) {
      const error = new NonRetryableError(`job type "${row.type}" is not registered in this deployment`);
      earlyWrites.push(
        deadLetterStatement(db, row.tenantId, row.id, errorJson(error, row.attempts, now), row.attemptLog, now),
      );
      jobLog.error("job dead", {
        type: row.type,
        attempt: row.attempts,
        ...(JSON.parse(row.metadata) as Record<string, string>),
        status: "dead",
        reason: error.message,
      });
      earlyTally.deadWithoutAttempt(row.tenantId, row.type);
      earlyDead.push(message);
      continue;
    }
    runnable.push({ message, row, definition, options: JSON.parse(row.options) as JobOptions });
  }

  // Flow control (src/gate/flow-step.ts): one KeyGate call per flow key; deferred jobs leave the batch.
  const flow = await gateFlows(runnable, {
    gates: env.KEY_GATE,
    queue: env.JOBS_QUEUE as Queue<JobMessage>,
    db,
    now,
    log: rootLog,
    leaseMs: ({ options }) => options.timeoutSeconds * 1000 + LEASE_SLACK_MS,
  });

  for (const row of flow.deferredRows) earlyTally.deferred(row.tenantId, row.type);
  // Early dead letters, flow deferrals and their counters: one round trip before anything runs.
  const early = [...earlyWrites, ...flow.writes, ...counterUpsertStatements(db, earlyTally.entries(), minuteOf(now))];
  if (early.length > 0) {
    try {
      await db.batch(early as [Statement, ...Statement[]]);
    } catch (err) {
      rootLog.error("early write failed; batch retried", { error: describeError(err).message });
      for (const message of [...earlyDead, ...runnable.map((w) => w.message)]) {
        message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
      }
      await flow.release();
      return;
    }
  }
  for (const message of earlyDead) message.ack();
  await flow.sendDeferrals();

  const started: Started[] = flow.admitted.map((work) => ({
    ...work,
    ref: { tenant: work.row.tenantId, id: work.row.id, attempt: work.row.attempts + 1, startedAt: now, claimed: false },
    lostClaim: false,
  }));
  // Jobs still running after CLAIM_AFTER_MS are claimed in D1 (status running, with a lease) in one batch.
  let claiming: Promise<void> = Promise.resolve();
  const running = new Set(started);
  const claimTimer = setTimeout(() => {
    claiming = claimStillRunning(db, [...running], deps.now());
  }, CLAIM_AFTER_MS);

  const outcomes = await Promise.all(
    started.map(async (work) => {
      await flow.waitTurn(work); // flow control may have admitted it to start within a second
      work.ref.startedAt = deps.now();
      const jobLog = rootLog.child({
        jobId: work.row.id,
        type: work.row.type,
        tenant: work.row.tenantId,
        attempt: work.ref.attempt,
        ...(JSON.parse(work.row.metadata) as Record<string, string>),
      });
      jobLog.info("job started", { status: "running" });
      const outcome = await runAttempt({
        definition: work.definition,
        payload: JSON.parse(work.row.payload),
        jobId: work.row.id,
        tenant: work.row.tenantId,
        attempt: work.ref.attempt,
        timeoutSeconds: work.options.timeoutSeconds,
        env,
        log: jobLog,
      });
      running.delete(work);
      return { work, outcome, jobLog };
    }),
  );
  clearTimeout(claimTimer);
  await claiming;

  const finishedAt = deps.now();
  const writes: Statement[] = [];
  const acks: (() => void)[] = [];
  const finished: FinishedJob[] = [];
  const tally = createTally();
  const written: Started[] = [];
  for (const { work, outcome, jobLog } of outcomes) {
    const { row, ref, message, options } = work;
    const attempt = ref.attempt;
    if (work.lostClaim) {
      // Another delivery holds this job: this run's outcome is not the one of record.
      jobLog.warn("outcome dropped: another delivery holds the job", { status: row.status });
      message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
      continue;
    }
    written.push(work);
    if (outcome.ok) {
      writes.push(succeedStatement(db, ref, JSON.stringify(outcome.result), outcome.progress, finishedAt));
      acks.push(() => {
        jobLog.info("job succeeded", { status: "succeeded", durationMs: outcome.durationMs });
        message.ack();
      });
      finished.push({ row, status: "succeeded" });
      tally.attempt(row.tenantId, row.type, "succeeded", outcome.durationMs);
      continue;
    }
    const decision = decideAfterFailure(outcome.error, attempt, row.maxAttempts, options.backoff, deps.random);
    const error = errorJson(outcome.error, attempt, finishedAt);
    const attemptLog = JSON.stringify([...attemptLogOf(row), logEntry(outcome, attempt, ref.startedAt, finishedAt)]);
    if (decision.next === "retrying") {
      const runAt = finishedAt + decision.delaySeconds * 1000;
      writes.push(retryStatement(db, ref, error, attemptLog, runAt, outcome.progress, finishedAt));
      acks.push(() => {
        jobLog.warn("job failed; retrying", {
          status: "retrying",
          durationMs: outcome.durationMs,
          delaySeconds: decision.delaySeconds,
          error: describeError(outcome.error).message,
        });
        message.retry({ delaySeconds: decision.delaySeconds });
      });
      tally.attempt(row.tenantId, row.type, "failed", outcome.durationMs);
    } else {
      writes.push(deadStatement(db, ref, error, attemptLog, finishedAt));
      finished.push({ row, status: "dead" });
      tally.attempt(row.tenantId, row.type, "dead", outcome.durationMs);
      acks.push(() => {
        jobLog.error("job dead", {
          status: "dead",
          durationMs: outcome.durationMs,
          reason: decision.reason,
          error: describeError(outcome.error).message,
        });
        message.ack();
      });
    }
  }
  if (writes.length === 0) return flow.release();
  // Callback state commits with the outcome it reports.
  writes.push(...callbackPendingWrites(db, finished, finishedAt));
  // One counters upsert per (tenant, type), committed with the outcomes it counts.
  writes.push(...counterUpsertStatements(db, tally.entries(), minuteOf(finishedAt)));

  let results: unknown[];
  try {
    results = await db.batch(writes as [Statement, ...Statement[]]);
  } catch (err) {
    // Outcomes not recorded: never ack. The messages return; a claimed job's lease stops a rerun before it lapses.
    rootLog.error("outcome write failed; batch retried", { error: describeError(err).message });
    for (const work of written) work.message.retry({ delaySeconds: WRITE_FAILURE_RETRY_SECONDS });
    await flow.release();
    return;
  }
  // An outcome that matched no row lost to a change made while the job ran (a cancel, another delivery).
  const landed = new Set<string>();
  written.forEach((work, i) => {
    if ((results[i] as unknown[]).length > 0) {
      landed.add(work.row.id);
      acks[i]?.();
    } else {
      rootLog.warn("outcome dropped: the job changed while it ran", { jobId: work.row.id, tenant: work.row.tenantId });
      work.message.ack();
    }
  });
  // Flow slots are given back once the outcomes are recorded (one KeyGate call per key).
  await flow.release();
  await enqueueCallbacks(
    env.JOBS_QUEUE,
    finished.filter(({ row }) => landed.has(row.id)),
    rootLog,
  );
}

/** Claims, in one batch, the jobs whose handlers are still running; a claim another delivery won marks its run lost. */
async function claimStillRunning(db: Db, stillRunning: Started[], now: number): Promise<void> {
  if (stillRunning.length === 0) return;
  const claims = stillRunning.map((work) =>
    claimStatement(db, work.ref, now, now + work.options.timeoutSeconds * 1000 + LEASE_SLACK_MS),
  );
  try {
    const results = (await db.batch(claims as unknown as [Statement, ...Statement[]])) as unknown[][];
    stillRunning.forEach((work, i) => {
      if ((results[i]?.length ?? 0) > 0) work.ref.claimed = true;
      else work.lostClaim = true;
    });
  } catch (err) {
    // Unclaimed jobs still finish: their outcome writes check the state they started from instead.
    rootLog.warn("claim write failed; jobs run unclaimed", { error: describeError(err).message });
  }
}

function errorJson(err: unknown, attempt: number, at: number): string {
  return JSON.stringify({ ...describeError(err), attempt, at: new Date(at).toISOString() });
}

function logEntry(outcome: AttemptOutcome, attempt: number, startedAt: number, finishedAt: number): AttemptLogEntry {
  const error = outcome.ok ? null : describeError(outcome.error);
  return {
    attempt,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs: outcome.durationMs,
    outcome: error?.name === "TimeoutError" ? "timed_out" : "failed",
    error,
  };
}
