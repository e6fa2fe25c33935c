import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineJob } from "../../src/core/define-job";
import { TimeoutError } from "../../src/core/errors";
import { log } from "../../src/core/logger";
import type { JobRow } from "../../src/db/schema";
import { runAttempt } from "../../src/engine/attempt";
import { decideDeadLetter } from "../../src/engine/dlq-consumer";
import { effectiveTimeoutSeconds, leaseMsFor } from "../../src/engine/limits";
import { settle } from "../../src/engine/settle";
import { triage } from "../../src/engine/triage";
import { echo } from "../fixtures/test-jobs";

const NOW = Date.UTC(2026, 11, 1, 12);
const options = { backoff: { type: "fixed" as const, delaySeconds: 7, jitter: false }, timeoutSeconds: 30 };
const row = (over: Partial<JobRow> = {}): JobRow => ({
  tenantId: "t",
  id: "job_1",
  type: "test-echo",
  status: "queued",
  payload: "{}",
  result: null,
  error: null,
  attempts: 0,
  maxAttempts: 3,
  options: JSON.stringify(options),
  progress: null,
  runAt: NOW,
  createdAt: NOW,
  updatedAt: NOW,
  startedAt: null,
  finishedAt: null,
  leaseUntil: null,
  idempotencyKey: null,
  callbackUrl: null,
  metadata: "{}",
  outbox: 0,
  attemptLog: "[]",
  callbackState: null,
  runToken: 0,
  parentId: null,
  waitingFor: null,
  paused: 0,
  batchId: null,
  queue: "default",
  ...over,
});
const input = (over: Partial<Parameters<typeof triage>[0]> = {}) => ({
  row: row(),
  deliveryAttempts: 1,
  duplicateInBatch: false,
  definition: echo,
  now: NOW,
  ...over,
});

describe("triage", () => {
  it("runs a fresh delivery unclaimed, and claims first on a redelivery or a takeover", () => {
    expect(triage(input())).toMatchObject({ kind: "run", claimFirst: false, options });
    expect(triage(input({ deliveryAttempts: 2 }))).toMatchObject({ kind: "run", claimFirst: true });
    const lapsed = row({ status: "running", attempts: 1, leaseUntil: NOW - 1 });
    expect(triage(input({ row: lapsed }))).toMatchObject({ kind: "run", claimFirst: true });
  });

  it("claims first a workflow job that parked: due while waiting, or woken (queued, its parked run's start kept)", () => {
    const due = row({ status: "waiting", startedAt: NOW - 5_000, runAt: NOW });
    expect(triage(input({ row: due }))).toMatchObject({ kind: "run", claimFirst: true });
    const woken = row({ status: "queued", startedAt: NOW - 5_000, outbox: 1 });
    expect(triage(input({ row: woken }))).toMatchObject({ kind: "run", claimFirst: true });
    // A plain job retrying after a failed attempt keeps its one message: no claim before it runs.
    expect(triage(input({ row: row({ status: "retrying", startedAt: NOW - 5_000 }) }))).toMatchObject({
      claimFirst: false,
    });
  });

  it("acks what cannot run: a missing, finished or scheduled job, or a second message for it in the batch", () => {
    expect(triage(input({ row: undefined })).kind).toBe("ack");
    expect(triage(input({ duplicateInBatch: true })).kind).toBe("ack");
    for (const status of ["succeeded", "dead", "cancelled", "scheduled"]) {
      expect(triage(input({ row: row({ status }) })).kind).toBe("ack");
    }
  });

  it("lets a job held by another delivery wait until that lease would lapse", () => {
    const held = row({ status: "running", attempts: 1, leaseUntil: NOW + 20_000 });
    expect(triage(input({ row: held }))).toEqual({
      kind: "wait",
      delaySeconds: 21,
      reason: "another delivery holds the job",
    });
  });

  it("dead-letters an unregistered type and a job whose attempts are used up, without running it", () => {
    expect(triage(input({ definition: undefined }))).toMatchObject({ kind: "deadLetter", reason: "unregistered_type" });
    const used = row({ status: "running", attempts: 3, leaseUntil: NOW - 1 });
    expect(triage(input({ row: used }))).toMatchObject({
      kind: "deadLetter",
      reason: "attempts_exhausted",
      error: { name: "AttemptsExhaustedError", attempt: 3 },
    });
  });
});

describe("settle", () => {
  const ref = { tenant: "t", id: "job_1", attempt: 1, token: 4, startedAt: NOW - 50, claimed: false };
  const base = { row: row(), ref, options, claimLost: false, finishedAt: NOW, random: () => 0.5 };

  it("writes a success and acks after it commits", () => {
    const s = settle({ ...base, outcome: { ok: true, result: { a: 1 }, progress: 100, durationMs: 50 } });
    expect(s).toMatchObject({
      kind: "write",
      write: { kind: "succeed", ref, result: '{"a":1}', progress: 100, at: NOW },
      after: { kind: "ack" },
      finished: "succeeded",
      end: "succeeded",
    });
  });

  it("writes a retry with its backoff and sends the next attempt after that delay; the last attempt is dead", () => {
    const failed = { ok: false as const, error: new TimeoutError("slow"), progress: null, durationMs: 30_000 };
    const retry = settle({ ...base, outcome: failed });
    expect(retry).toMatchObject({
      kind: "write",
      write: { kind: "retry", runAt: NOW + 7_000 },
      after: { kind: "nextAttempt", delaySeconds: 7 },
    });
    if (retry.kind !== "write" || retry.write.kind !== "retry") throw new Error("expected a retry");
    expect(JSON.parse(retry.write.attemptLog)).toMatchObject([{ attempt: 1, outcome: "timed_out" }]);
    const last = settle({ ...base, ref: { ...ref, attempt: 3 }, outcome: failed });
    expect(last).toMatchObject({ kind: "write", write: { kind: "dead" }, after: { kind: "ack" }, finished: "dead" });
  });

  it("drops the outcome of a run that lost its claim: no write", () => {
    const s = settle({ ...base, claimLost: true, outcome: { ok: true, result: null, progress: null, durationMs: 5 } });
    expect(s.kind).toBe("drop");
  });
});

describe("dead letters", () => {
  it("re-queues a job with attempts left, and kills it when they are used up or on its third time", () => {
    const back = decideDeadLetter(row(), 101, NOW);
    expect(back.kind).toBe("requeue");
    if (back.kind !== "requeue") throw new Error("expected a requeue");
    const twice = decideDeadLetter(row({ attemptLog: back.attemptLog }), 101, NOW);
    if (twice.kind !== "requeue") throw new Error("expected a requeue");
    expect(decideDeadLetter(row({ attemptLog: twice.attemptLog }), 101, NOW).kind).toBe("dead");
    expect(decideDeadLetter(row({ attempts: 3, status: "retrying" }), 101, NOW).kind).toBe("dead");
  });

  it("leaves alone a finished job and one another delivery holds", () => {
    expect(decideDeadLetter(row({ status: "succeeded" }), 101, NOW).kind).toBe("leave");
    expect(decideDeadLetter(row({ status: "running", leaseUntil: NOW + 1 }), 101, NOW).kind).toBe("leave");
  });
});

describe("the attempt timeout cap", () => {
  it("runs anything above 840 s as 840 s, with the lease 15 s past it", () => {
    expect([effectiveTimeoutSeconds(1), effectiveTimeoutSeconds(840), effectiveTimeoutSeconds(900)]).toEqual([
      1, 840, 840,
    ]);
    expect(leaseMsFor(900)).toBe(855_000);
  });
});

describe("the attempt stage", () => {
  it("records a timeout as a TimeoutError even when the handler rejects with its own error on abort", async () => {
    const stubborn = defineJob({
      type: "test-own-abort-error",
      input: z.object({}),
      run: (_input, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("my own abort")))),
    });
    const outcome = await runAttempt({
      definition: stubborn,
      payload: {},
      jobId: "job_1",
      tenant: "t",
      attempt: 1,
      timeoutSeconds: 1,
      claim: new AbortController().signal,
      env: {} as Env,
      log,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? null : (outcome.error as Error).name).toBe("TimeoutError");
  });
});
