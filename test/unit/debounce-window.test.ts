// The pure debounce rules: the start an arrival gives the window's job, the maxWait bound, and when a message must go.
import { describe, expect, it } from "vitest";
import { MAX_QUEUE_DELAY_SECONDS } from "../../src/contract/job";
import { newId } from "../../src/core/ids";
import {
  type ArrivalPlan,
  type DebounceWindow,
  debounceIssues,
  nextWindow,
  openWindow,
  planArrival,
  planGroup,
  WINDOW_LINGER_MS,
} from "../../src/gate/debounce";

const T0 = Date.UTC(2026, 11, 2, 6, 0, 0);
const id = newId("job", T0);

/** Applies arrivals at these times (ms after T0) with these settings, as the gate does, and gives each plan. */
function arrive(arrivals: { at: number; seconds: number; maxWaitSeconds?: number }[]) {
  let window: DebounceWindow | null = null;
  const plans: ArrivalPlan[] = [];
  for (const { at, ...settings } of arrivals) {
    const plan = planArrival(window, settings, id, T0 + at);
    plans.push(plan);
    window = nextWindow(window, plan, id);
  }
  return { plans, window };
}

describe("debounce window", () => {
  it("starts a new window's job `seconds` after its first enqueue and sends its message", () => {
    const { plans, window } = arrive([{ at: 0, seconds: 10 }]);
    expect(plans[0]).toMatchObject({ runAt: T0 + 10_000, status: "queued", outbox: 0, sendMessage: true });
    expect(window).toMatchObject({ jobId: id, firstAt: T0, seq: 1, runAt: T0 + 10_000, messageAt: T0 + 10_000 });
  });

  it("pushes the start to `seconds` after each enqueue, sending nothing while the first message comes earlier", () => {
    const { plans, window } = arrive([
      { at: 0, seconds: 10 },
      { at: 4_000, seconds: 10 },
      { at: 9_000, seconds: 10 },
    ]);
    expect(plans.map((p) => p.runAt - T0)).toEqual([10_000, 14_000, 19_000]);
    expect(plans.map((p) => p.sendMessage)).toEqual([true, false, false]);
    expect(window).toMatchObject({ seq: 3, runAt: T0 + 19_000, messageAt: T0 + 10_000 });
  });

  it("never moves the start past maxWaitSeconds after the first enqueue", () => {
    const { plans } = arrive([
      { at: 0, seconds: 10, maxWaitSeconds: 25 },
      { at: 8_000, seconds: 10, maxWaitSeconds: 25 },
      { at: 16_000, seconds: 10, maxWaitSeconds: 25 },
      { at: 24_000, seconds: 10, maxWaitSeconds: 25 },
    ]);
    expect(plans.map((p) => p.runAt - T0)).toEqual([10_000, 18_000, 25_000, 25_000]);
  });

  it("never puts the start in the past when the bound has passed (the job is simply due)", () => {
    const { plans } = arrive([
      { at: 0, seconds: 5, maxWaitSeconds: 5 },
      { at: 7_000, seconds: 5, maxWaitSeconds: 5 },
    ]);
    expect(plans[1]?.runAt).toBe(T0 + 7_000);
  });

  it("sends a message again when the start moves earlier than the one coming, or after the known one came", () => {
    const earlier = arrive([
      { at: 0, seconds: 60 },
      { at: 1_000, seconds: 5 },
    ]);
    expect(earlier.plans[1]).toMatchObject({ runAt: T0 + 6_000, sendMessage: true });
    expect(earlier.window?.messageAt).toBe(T0 + 6_000);

    // The first message is due at 10 s; at 12 s it has come (and was bounced, or ran): the gate cannot rely on it.
    const after = arrive([
      { at: 0, seconds: 10 },
      { at: 12_000, seconds: 10 },
    ]);
    expect(after.plans[1]).toMatchObject({ runAt: T0 + 22_000, sendMessage: true });
  });

  it("counts a request with an older clock at the previous arrival's time", () => {
    const { plans } = arrive([
      { at: 5_000, seconds: 10 },
      { at: 4_000, seconds: 10 },
    ]);
    expect(plans[1]).toMatchObject({ at: T0 + 5_000, runAt: T0 + 15_000, sendMessage: false });
  });

  it("waits as scheduled (no message; the tick sends it) past the queue's longest delay", () => {
    const seconds = MAX_QUEUE_DELAY_SECONDS + 60;
    const { plans } = arrive([{ at: 0, seconds }]);
    expect(plans[0]).toMatchObject({ status: "scheduled", outbox: 0, sendMessage: false });
  });

  it("watches a queued job by the outbox index once its start is past the fresh-id rescue window", () => {
    const { plans } = arrive([{ at: 0, seconds: 3_600 }]);
    expect(plans[0]).toMatchObject({ status: "queued", outbox: 1 });
  });

  it("closes a window a day after its job's start", () => {
    const { window } = arrive([{ at: 0, seconds: 10 }]);
    expect(openWindow(window, T0 + 10_000 + WINDOW_LINGER_MS)).toBe(window);
    expect(openWindow(window, T0 + 10_001 + WINDOW_LINGER_MS)).toBeNull();
    expect(openWindow(undefined, T0)).toBeNull();
  });

  it("names every bad debounce field with its path", () => {
    const issues = debounceIssues(
      { debounce: { key: "", seconds: 0, maxWaitSeconds: 1.5 }, delaySeconds: 5, idempotencyKey: "k" },
      "jobs.2",
    );
    expect(issues.map((i) => i.path)).toEqual([
      "jobs.2.debounce.key",
      "jobs.2.debounce.seconds",
      "jobs.2.debounce.maxWaitSeconds",
      "jobs.2.debounce",
      "jobs.2.debounce",
    ]);
    expect(debounceIssues({ debounce: { key: "k", seconds: 10, maxWaitSeconds: 5 } }, "")).toEqual([
      { path: "debounce.maxWaitSeconds", message: "an integer from seconds to 604800" },
    ]);
    expect(debounceIssues({ debounce: { key: "k", seconds: 86_400, maxWaitSeconds: 86_400 } }, "")).toEqual([]);
  });
});

describe("debounce arrivals applied as one write", () => {
  it("gives each arrival its own seq, stores the last one's plan, and sends at most one message", () => {
    const settings = { seconds: 10 };
    const group = planGroup(
      null,
      [0, 1_000, 2_000].map((at) => ({ settings, now: T0 + at })),
      id,
    );
    expect(group.seqs).toEqual([1, 2, 3]);
    expect(group.final).toMatchObject({ runAt: T0 + 12_000, sendMessage: true });
    expect(group.window).toMatchObject({ firstAt: T0, seq: 3, runAt: T0 + 12_000, messageAt: T0 + 12_000 });

    // A later group whose start moves later sends nothing: the group's message comes first and is carried forward.
    const later = planGroup(
      group.window,
      [
        { settings, now: T0 + 5_000 },
        { settings, now: T0 + 6_000 },
      ],
      id,
    );
    expect(later).toMatchObject({
      seqs: [4, 5],
      sendMessage: false,
      window: { runAt: T0 + 16_000, messageAt: T0 + 12_000 },
    });
    // Matches arrivals applied one by one.
    const single = arrive([0, 1_000, 2_000, 5_000, 6_000].map((at) => ({ at, seconds: 10 })));
    expect(single.window).toMatchObject({ seq: 5, runAt: later.window.runAt, firstAt: later.window.firstAt });
  });
});
