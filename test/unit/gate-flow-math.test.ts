import { describe, expect, it } from "vitest";
import type { AttemptLogEntry } from "../../src/contract/job";
import { withDeferral } from "../../src/db/deferrals";
import {
  addStarts,
  decide,
  type FlowLimits,
  type FlowState,
  inlineWaitMs,
  lineWaits,
  nextAverageRunMs,
  nextReturnLagMs,
  pruneWindow,
  START_LEAD_MS,
  tokenHoldMs,
} from "../../src/gate/flow-math";

const empty = (): FlowState => ({
  window: [],
  leases: new Map(),
  waiting: new Map(),
  averageRunMs: 1000,
  returnLagMs: 0,
});
const jobs = (n: number, prefix = "j", leaseMs = 10_000) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${String(i).padStart(3, "0")}`, leaseMs }));

/** A seeded generator, so the simulation is the same on every run. */
function lcg(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("rate limit: a sliding window", () => {
  const limits: FlowLimits = { rate: { limit: 5, periodSeconds: 1 }, concurrency: null };

  it("admits up to the limit now and defers the rest, in whole seconds, just before their tokens return", () => {
    const decision = decide(limits, empty(), jobs(12), 10_000);
    // They start after the lead, while the consumer claims them.
    expect(decision.admitted.map((a) => [a.id, a.startAt])).toEqual(
      ["j000", "j001", "j002", "j003", "j004"].map((id) => [id, 10_000 + START_LEAD_MS]),
    );
    // Tokens come back at 11 350 and then 12 450: the deferred jobs return at 11 000 and 12 000
    // and wait the rest inline.
    expect(decision.deferred.map((d) => d.delaySeconds)).toEqual([1, 1, 1, 1, 1, 2, 2]);
    expect(decision.window).toEqual([[10_250, 5]]);
  });

  it("holds a start's token for the period plus a tenth of it (50 ms…1 s)", () => {
    expect([tokenHoldMs(1), tokenHoldMs(60), tokenHoldMs(3600)]).toEqual([1100, 61_000, 3_601_000]);
    const state = { ...empty(), window: addStarts([], 10_000, 5) };
    expect(decide(limits, state, jobs(1), 11_099, 0).admitted).toHaveLength(0);
    expect(decide(limits, state, jobs(1), 11_100, 0).admitted).toHaveLength(1);
    expect(pruneWindow([[10_000, 5]], 1100, 11_099)).toEqual([[10_000, 5]]);
    expect(pruneWindow([[10_000, 5]], 1100, 11_100)).toEqual([]);
  });

  it("admits a job whose token returns within a second to start then, counted at that instant", () => {
    const state = { ...empty(), window: addStarts([], 10_000, 5) };
    const decision = decide(limits, state, jobs(6), 10_300);
    expect(decision.admitted.map((a) => a.startAt)).toEqual([11_100, 11_100, 11_100, 11_100, 11_100]);
    expect(decision.window).toEqual([
      [10_000, 5],
      [11_100, 5],
    ]);
    expect(decision.deferred).toEqual([{ id: "j005", delaySeconds: 1 }]);
  });

  it("waits inline longer when deferred jobs usually come back late, up to 5 s", () => {
    expect([inlineWaitMs(0), inlineWaitMs(800), inlineWaitMs(60_000)]).toEqual([1000, 1800, 5000]);
    const state = { ...empty(), window: addStarts([], 10_000, 5), returnLagMs: 900 };
    // The token is back in 1.8 s: too far for a plain one-second wait, but a deferral would come back later still.
    expect(decide(limits, state, jobs(1), 9300).admitted).toEqual([
      { id: "j000", leaseId: "j000", startAt: 11_100, leaseUntil: 21_100 },
    ]);
    expect(decide(limits, { ...state, returnLagMs: 0 }, jobs(1), 9300).admitted).toEqual([]);
    expect(nextReturnLagMs(0, [1000, 1000])).toBe(360);
    expect(nextReturnLagMs(0, [60_000])).toBe(2000);
  });

  it("never starts more than `limit` in any window of one period, however the asks arrive", () => {
    const random = lcg(7);
    let state = empty();
    const starts: number[] = [];
    let now = 0;
    let pending = 0;
    let next = 0;
    for (let step = 0; step < 2000; step++) {
      now += Math.floor(random() * 300);
      pending = Math.min(20, pending + Math.floor(random() * 4));
      const asking = Array.from({ length: pending }, () => ({ id: `x${next++}`, leaseMs: 1000 }));
      const decision = decide(limits, state, asking, now);
      for (const a of decision.admitted) starts.push(a.startAt);
      pending -= decision.admitted.length;
      state = { ...state, window: decision.window };
    }
    starts.sort((a, b) => a - b);
    expect(starts.length).toBeGreaterThan(1000);
    for (let i = 0; i + 5 < starts.length; i++) {
      expect((starts[i + 5] ?? 0) - (starts[i] ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  });

  it("tells each job in line how long until a token comes back for it", () => {
    // Tokens free at 2000 ×3 and 2500 ×2; the sixth job in line reuses the first one, a hold later.
    expect(lineWaits([2000, 2000, 2000, 2500, 2500], 1000, 7, 1600)).toEqual([400, 400, 400, 900, 900, 1400, 1400]);
    // A limit lowered below the starts in the window: the surplus must pass before a token is free.
    const lowered = decide(
      { rate: { limit: 2, periodSeconds: 1 }, concurrency: null },
      {
        ...empty(),
        window: [
          [1000, 3],
          [1500, 1],
        ],
      },
      jobs(1),
      1600,
      0,
    );
    expect(lowered.deferred).toEqual([{ id: "j000", delaySeconds: 1 }]);
    expect(decide(limits, { ...empty(), window: [[1000, 4]] }, jobs(2), 1600, 0).admitted).toHaveLength(1);
  });

  it("lets returning jobs keep their place: first admitted, and denied behind only those due before them", () => {
    const perTen: FlowLimits = { rate: { limit: 5, periodSeconds: 10 }, concurrency: null };
    const waiting = new Map<string, number>([
      ["early", 1000],
      ["mid", 2000],
      ["late", 3000],
      ["elsewhere", 1500],
    ]);
    // One token is free; two come back at 11 000 and two at 16 000 (holds of 11 s).
    const state = { ...empty(), window: addStarts(addStarts([], 0, 2), 5000, 2), waiting };
    const asking = ["fresh", "late", "mid", "early"].map((id) => ({ id, leaseMs: 1 }));
    const decision = decide(perTen, state, asking, 100, 0);
    // The job that has waited longest takes the free token, whatever the order of the ask.
    expect(decision.admitted.map((a) => a.id)).toEqual(["early"]);
    // Line: elsewhere (due 1500) takes the first token back; mid the second; late the one spent now
    // (back at 11 100); the fresh job, last in line, one of those back at 16 000.
    expect(decision.deferred.map((d) => [d.id, d.delaySeconds])).toEqual([
      ["mid", 10],
      ["late", 11],
      ["fresh", 15],
    ]);
  });

  it("queues newly denied jobs behind the ones already waiting", () => {
    const waiting = new Map(Array.from({ length: 10 }, (_, i): [string, number] => [`w${i}`, 500 + i]));
    const state = { ...empty(), window: addStarts([], 0, 5), waiting };
    const decision = decide(limits, state, jobs(1), 100, 0);
    // Positions 0…9 take the tokens back at 1.1 s and 2.2 s: this job's comes back at 3.3 s.
    expect(decision.deferred).toEqual([{ id: "j000", delaySeconds: 3 }]);
  });
});

describe("concurrency: leased slots", () => {
  const limits: FlowLimits = { rate: null, concurrency: 2 };

  it("admits up to the free slots and leases them for the job's lease length", () => {
    const state = { ...empty(), leases: new Map([["running", 50_000]]) };
    const decision = decide(limits, state, jobs(3, "j", 7000), 1000);
    expect(decision.admitted).toEqual([{ id: "j000", leaseId: "j000", startAt: 1000, leaseUntil: 8000 }]);
    expect(decision.deferred.map((d) => d.id)).toEqual(["j001", "j002"]);
  });

  it("gives a second delivery of a running job its own slot ask, and the same delivery its own slot back", () => {
    const one: FlowLimits = { rate: null, concurrency: 1 };
    const state = { ...empty(), leases: new Map([["job-a/msg-1", 50_000]]) };
    const duplicate = decide(one, state, [{ id: "job-a", leaseId: "job-a/msg-2", leaseMs: 5000 }], 1000);
    expect(duplicate.admitted).toEqual([]);
    expect(duplicate.deferred.map((d) => d.id)).toEqual(["job-a"]);
    const redelivered = decide(one, state, [{ id: "job-a", leaseId: "job-a/msg-1", leaseMs: 5000 }], 1000);
    expect(redelivered.admitted.map((a) => a.leaseId)).toEqual(["job-a/msg-1"]);
  });

  it("reclaims a slot whose lease has passed (its consumer died)", () => {
    const state = {
      ...empty(),
      leases: new Map([
        ["dead-a", 5000],
        ["dead-b", 6000],
      ]),
    };
    expect(decide(limits, state, jobs(2), 5999).admitted.map((a) => a.id)).toEqual(["j000"]);
    expect(decide(limits, state, jobs(2), 6000).admitted).toHaveLength(2);
  });

  it("lets a job that asks again keep its own slot", () => {
    const state = {
      ...empty(),
      leases: new Map([
        ["j000", 9000],
        ["other", 9000],
      ]),
    };
    expect(decide(limits, state, jobs(1), 1000).admitted.map((a) => a.id)).toEqual(["j000"]);
  });

  it("guesses the wait from how long slots are usually held, by position in line", () => {
    const state = {
      ...empty(),
      leases: new Map([
        ["a", 99_000],
        ["b", 99_000],
      ]),
      averageRunMs: 3000,
    };
    const decision = decide(limits, state, jobs(5), 0);
    expect(decision.deferred.map((d) => d.delaySeconds)).toEqual([3, 3, 6, 6, 9]);
  });

  it("applies both limits together", () => {
    const decision = decide({ rate: { limit: 3, periodSeconds: 60 }, concurrency: 5 }, empty(), jobs(6), 0);
    expect(decision.admitted).toHaveLength(3);
    expect(decision.deferred.map((d) => d.delaySeconds)).toEqual([61, 61, 61]);
  });

  it("moves the average slot time toward recent jobs", () => {
    expect(nextAverageRunMs(1000, [6000])).toBe(2000);
    expect(nextAverageRunMs(1000, [])).toBe(1000);
  });
});

describe("deferral entries in the attempt log", () => {
  const entry = (outcome: AttemptLogEntry["outcome"], n: number): AttemptLogEntry => ({
    attempt: n,
    startedAt: "",
    finishedAt: "",
    durationMs: 0,
    outcome,
    error: null,
  });

  it("keeps failures and only the latest ten deferrals", () => {
    let log: AttemptLogEntry[] = [entry("failed", 1)];
    for (let i = 0; i < 15; i++) log = withDeferral(log, entry("deferred", 100 + i));
    expect(log.filter((e) => e.outcome === "failed")).toHaveLength(1);
    expect(log.filter((e) => e.outcome === "deferred").map((e) => e.attempt)).toEqual([
      105, 106, 107, 108, 109, 110, 111, 112, 113, 114,
    ]);
  });
});
