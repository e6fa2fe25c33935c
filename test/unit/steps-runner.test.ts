import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineJob } from "../../src/core/define-job";
import { log } from "../../src/core/logger";
import { StepRuleError } from "../../src/core/steps";
import type { StoredStep } from "../../src/db/step-statements";
import { runAttempt } from "../../src/engine/attempt";
import { type Park, StepRunner, type StepStore } from "../../src/engine/step-runner";
import { runJob } from "../../src/testing";

/** A store over memory that counts its calls. */
function memoryStore(rows: StoredStep[] = []) {
  const calls = { load: 0, saveRun: 0 };
  const store: StepStore = {
    async load() {
      calls.load++;
      return rows;
    },
    async saveRun() {
      calls.saveRun++;
      return null;
    },
    async completeSleep() {},
    async timeOutEvent() {
      return null;
    },
  };
  return { store, calls };
}

const childRow = (id: string) => ({ id }) as never;

function runner(rows: StoredStep[] = []) {
  const { store, calls } = memoryStore(rows);
  let parks = 0;
  let park: Park | undefined;
  let n = 0;
  const steps = new StepRunner({ store, now: () => 1_000_000, buildChild: () => childRow(`job_child${n++}`) }, (p) => {
    parks++;
    park = p;
  });
  return { steps, calls, parked: () => ({ parks, park }) };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("the step runner", () => {
  it("loads the job's steps once, lazily, and parks once with every invoke of a Promise.all", async () => {
    const { steps, calls, parked } = runner();
    expect(calls.load).toBe(0);
    void Promise.all([0, 1, 2].map((i) => steps.api.invoke(`c${i}`, { type: "t" })));
    await tick();
    expect(calls.load).toBe(1);
    const { parks, park } = parked();
    expect(parks).toBe(1);
    expect(park?.children).toHaveLength(3);
    expect(park?.waitingFor).toEqual({ kind: "invoke", jobIds: ["job_child0", "job_child1", "job_child2"] });
  });

  it("does not park while a step.run is still in flight beside a sleep", async () => {
    const { steps, parked } = runner();
    let release: () => void = () => {};
    const slow = new Promise<number>((resolve) => {
      release = () => resolve(7);
    });
    void Promise.all([steps.api.sleep("nap", 60), steps.api.run("slow", () => slow)]);
    await tick();
    expect(parked().parks).toBe(0);
    release();
    await tick();
    expect(parked().parks).toBe(1);
    expect(parked().park?.waitingFor).toEqual({ kind: "sleep", until: new Date(1_000_000 + 60_000).toISOString() });
  });

  it("replays a stored run step without calling fn, and refuses a name used twice", async () => {
    const stored: StoredStep = {
      name: "a",
      kind: "run",
      status: "succeeded",
      result: '{"x":1}',
      error: null,
      wakeAt: null,
      eventName: null,
      eventKey: null,
      childId: null,
    };
    const { steps, calls } = runner([stored]);
    let called = 0;
    expect(await steps.api.run("a", () => ++called)).toEqual({ x: 1 });
    expect(called).toBe(0);
    expect(calls.saveRun).toBe(0);
    await expect(steps.api.run("a", () => 1)).rejects.toBeInstanceOf(StepRuleError);
    expect(steps.broken).toBeInstanceOf(StepRuleError);
  });
});

describe("runJob's in-memory ctx.step", () => {
  const workflow = defineJob({
    type: "memory-workflow",
    input: z.object({}),
    async run(_input, ctx) {
      const a = await ctx.step.run("a", () => 2);
      await ctx.step.sleep("nap", 3600);
      const paid = await ctx.step.waitForEvent<{ amount: number }>("paid", { event: "paid", timeoutSeconds: 60 });
      const child = await ctx.step.invoke<{ v: number }>("child", { type: "kid", payload: { n: a } });
      return { a, amount: paid?.amount ?? null, v: child.v };
    },
  });

  it("runs the steps in memory: sleeps end at once, events and children come from the options", async () => {
    const outcome = await runJob(
      workflow,
      {},
      {
        env,
        steps: { events: { paid: { amount: 5 } }, children: { kid: (p) => ({ v: (p as { n: number }).n * 10 }) } },
      },
    );
    expect(outcome).toMatchObject({ status: "succeeded", result: { a: 2, amount: 5, v: 20 } });
  });
});

describe("step rules at the edges (review defects 5 and 9)", () => {
  it('refuses waitForEvent with key "" (POST /v1/events refuses an empty key): StepRuleError', async () => {
    const { steps, parked } = runner();
    await expect(steps.api.waitForEvent("w", { event: "paid", key: "", timeoutSeconds: 60 })).rejects.toBeInstanceOf(
      StepRuleError,
    );
    expect(steps.broken).toBeInstanceOf(StepRuleError);
    await tick();
    expect(parked().parks).toBe(0);
  });

  it("aborts ctx.signal once the run parks and refuses a step the handler calls after that", async () => {
    const { store, calls } = memoryStore();
    const seen = { aborted: false, lateCalled: 0, lateError: "" };
    const job = defineJob({
      type: "parks-then-works",
      input: z.object({}),
      async run(_input, ctx) {
        // The sleep parks the run while the handler's own (non-step) work goes on beside it.
        void ctx.step.sleep("nap", 60).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 30));
        seen.aborted = ctx.signal.aborted;
        await ctx.step
          .run("late", () => ++seen.lateCalled)
          .catch((err: Error) => {
            seen.lateError = err.name;
          });
        return null;
      },
    });
    const outcome = await runAttempt({
      definition: job as never,
      payload: {},
      jobId: "job_p",
      tenant: "t",
      attempt: 1,
      timeoutSeconds: 5,
      env,
      log,
      steps: (onPark) => new StepRunner({ store, now: () => 1_000_000, buildChild: null }, onPark),
    });
    expect(outcome.parked?.waitingFor.kind).toBe("sleep");
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(seen).toEqual({ aborted: true, lateCalled: 0, lateError: "RunParkedError" });
    expect(calls.saveRun).toBe(0);
  });
});
