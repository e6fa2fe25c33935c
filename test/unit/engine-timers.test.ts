import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { defineJob } from "../../src/core/define-job";
import { log, setLogLevel } from "../../src/core/logger";
import type { JobRow } from "../../src/db/schema";
import { AttemptStop, ClaimLostError, runAttempt } from "../../src/engine/attempt";
import { Deadlines } from "../../src/engine/deadlines";
import { jobLog } from "../../src/engine/job-log";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("deadlines on one timer", () => {
  it("fires each at its own time, in order, and never one that was removed", async () => {
    const deadlines = new Deadlines();
    const start = Date.now();
    const fired: [string, number][] = [];
    deadlines.add(start + 120, () => fired.push(["late", Date.now() - start]));
    deadlines.add(start + 40, () => fired.push(["early", Date.now() - start]));
    const removed = deadlines.add(start + 80, () => fired.push(["removed", Date.now() - start]));
    deadlines.remove(removed);
    await sleep(200);
    expect(fired.map(([name]) => name)).toEqual(["early", "late"]);
    expect(fired[0]?.[1]).toBeGreaterThanOrEqual(40);
    expect(fired[1]?.[1]).toBeGreaterThanOrEqual(120);
  });
});

const hangs = defineJob({ type: "test-hangs", input: z.object({}), run: () => new Promise(() => {}) });
const attemptOf = (timeoutSeconds: number, deadlines: Deadlines, stop = new AttemptStop()) =>
  runAttempt({
    definition: hangs,
    payload: {},
    jobId: "job_1",
    tenant: "t",
    attempt: 1,
    timeoutSeconds,
    stop,
    deadlines,
    env: {} as Env,
    log,
  });

describe("attempts sharing one timer", () => {
  it("times each attempt out at its own timeoutSeconds", async () => {
    const deadlines = new Deadlines();
    const start = Date.now();
    const ended: Record<string, number> = {};
    const one = attemptOf(1, deadlines).then((o) => {
      ended.one = Date.now() - start;
      return o;
    });
    const two = attemptOf(2, deadlines).then((o) => {
      ended.two = Date.now() - start;
      return o;
    });
    const [a, b] = await Promise.all([one, two]);
    expect([a.ok ? null : (a.error as Error).name, b.ok ? null : (b.error as Error).name]).toEqual([
      "TimeoutError",
      "TimeoutError",
    ]);
    expect(ended.one).toBeGreaterThanOrEqual(1_000);
    expect(ended.one).toBeLessThan(1_900);
    expect(ended.two).toBeGreaterThanOrEqual(2_000);
  });

  it("ends an attempt whose claim is lost, with the reason on ctx.signal; a stop after the end does nothing", async () => {
    let signal: AbortSignal | undefined;
    const watches = defineJob({
      type: "test-watches",
      input: z.object({}),
      run: (_input, ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    const stop = new AttemptStop();
    const running = runAttempt({
      definition: watches,
      payload: {},
      jobId: "job_1",
      tenant: "t",
      attempt: 1,
      timeoutSeconds: 30,
      stop,
      deadlines: new Deadlines(),
      env: {} as Env,
      log,
    });
    await sleep(10);
    stop.stop(new ClaimLostError("taken over"));
    const outcome = await running;
    expect(outcome.ok ? null : (outcome.error as Error).name).toBe("ClaimLostError");
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error | undefined)?.name).toBe("ClaimLostError");

    const quick = new AttemptStop();
    const done = await runAttempt({
      definition: defineJob({ type: "test-quick", input: z.object({}), run: () => "ok" }),
      payload: {},
      jobId: "job_2",
      tenant: "t",
      attempt: 1,
      timeoutSeconds: 30,
      stop: quick,
      env: {} as Env,
      log,
    });
    quick.stop(new ClaimLostError("too late"));
    expect(done.ok).toBe(true);
    expect(quick.signal.aborted).toBe(false);
  });
});

describe("the job's lazy logger", () => {
  afterEach(() => {
    setLogLevel(undefined);
    vi.restoreAllMocks();
  });
  const row = { id: "job_1", type: "test-echo", tenantId: "t", metadata: '{"order":"o-1","status":"x"}' } as JobRow;

  it("writes the same lines as a child logger with the job's metadata", () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => lines.push(line));
    vi.spyOn(console, "error").mockImplementation((line: string) => lines.push(line));
    const eager = log
      .child({ jobId: "job_1", type: "test-echo", tenant: "t", attempt: 2 })
      .withMetadata({ order: "o-1", status: "x" });
    const lazy = jobLog(row, 2, true);
    for (const logger of [eager, lazy]) {
      logger.info("job started", { status: "running" });
      logger.warn("careful", { jobId: "other" });
      logger.child({ step: 1 }).error("failed", { error: "boom" });
    }
    const strip = (line: string) => line.replace(/"time":"[^"]+"/, "");
    expect(lines).toHaveLength(6);
    expect(lines.slice(3).map(strip)).toEqual(lines.slice(0, 3).map(strip));
  });

  it("builds nothing (nor parses the metadata) for an info line when info lines are off", () => {
    setLogLevel("warn");
    vi.spyOn(console, "log").mockImplementation(() => {});
    const broken = { ...row, metadata: "not json" } as JobRow;
    expect(() => jobLog(broken, 1, false).info("job started")).not.toThrow();
    expect(() => jobLog(broken, 1, false).warn("careful")).toThrow(SyntaxError);
  });
});
