// The pure aggregation behind the metrics: duration buckets, percentiles, per-batch tallies and the snapshot.
import { describe, expect, it } from "vitest";
import { BUCKET_BOUNDS_MS, bucketIndex, emptyBuckets, parseBuckets, percentile } from "../../src/metrics/buckets";
import { buildSnapshot, type MinuteRow, throughputSeries } from "../../src/metrics/snapshot";
import { createTally, minuteOf, zeroCounters } from "../../src/metrics/tally";

const counts = (pairs: [number, number][]) => {
  const b = emptyBuckets();
  for (const [i, n] of pairs) b[i] = n;
  return b;
};

describe("duration buckets", () => {
  it("place a duration in the first bucket whose bound covers it", () => {
    expect(BUCKET_BOUNDS_MS).toHaveLength(12);
    expect([0, 10, 11, 25, 26, 999, 1000, 30_000, 30_001, 10 ** 9].map(bucketIndex)).toEqual([
      0, 0, 1, 1, 2, 6, 6, 10, 11, 11,
    ]);
  });

  it("estimate percentiles by interpolating inside the bucket the rank falls in", () => {
    // 100 attempts spread evenly over (100, 250]: the median sits halfway.
    expect(percentile(counts([[4, 100]]), 0.5)).toBe(175);
    expect(percentile(counts([[4, 100]]), 0.95)).toBe(243);
    // 90 fast, 10 slow: p50 in the fast bucket, p95 in the slow one.
    const mixed = counts([
      [0, 90],
      [7, 10],
    ]);
    expect(percentile(mixed, 0.5)).toBe(6);
    expect(percentile(mixed, 0.95)).toBe(1750);
    // The open top bucket can only vouch for its lower bound.
    expect(percentile(counts([[11, 3]]), 0.95)).toBe(30_000);
    expect(percentile(emptyBuckets(), 0.5)).toBeNull();
  });

  it("read stored arrays defensively", () => {
    expect(parseBuckets("[1,2,3]")).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseBuckets("not json")).toEqual(emptyBuckets());
    expect(parseBuckets('{"a":1}')).toEqual(emptyBuckets());
    expect(parseBuckets('[1,"x",-4,null]')).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("a batch tally", () => {
  it("groups by (tenant, type) and counts attempts, outcomes and durations", () => {
    const tally = createTally();
    tally.attempt("t1", "a", "succeeded", 4);
    tally.attempt("t1", "a", "failed", 120.4);
    tally.attempt("t1", "a", "dead", 40_000);
    tally.attempt("t2", "a", "succeeded", 1);
    tally.deadWithoutAttempt("t1", "b");
    tally.deferred("t1", "a");
    const entries = tally.entries();
    expect(entries.map((e) => [e.tenant, e.type])).toEqual([
      ["t1", "a"],
      ["t2", "a"],
      ["t1", "b"],
    ]);
    expect(entries[0]?.counters).toEqual({
      started: 3,
      succeeded: 1,
      failed: 1,
      dead: 1,
      deferred: 1,
      durationMsSum: 40_124,
      buckets: counts([
        [0, 1],
        [4, 1],
        [11, 1],
      ]),
    });
    expect(entries[2]?.counters).toMatchObject({ started: 0, dead: 1, durationMsSum: 0 });
  });

  it("keeps tenants apart even when names could collide when joined", () => {
    const tally = createTally();
    tally.attempt("a/b", "c", "succeeded", 1);
    tally.attempt("a", "b/c", "succeeded", 1);
    expect(tally.entries()).toHaveLength(2);
  });

  it("numbers minutes from the epoch", () => {
    expect(minuteOf(0)).toBe(0);
    expect(minuteOf(119_999)).toBe(1);
    expect(minuteOf(Date.UTC(2026, 0, 1))).toBe(Date.UTC(2026, 0, 1) / 60_000);
  });
});

describe("the snapshot", () => {
  const now = Date.UTC(2026, 10, 27, 12, 0, 30);
  const minute = minuteOf(now);
  const row = (type: string, m: number, c: Partial<MinuteRow>): MinuteRow => ({
    minute: m,
    type,
    ...zeroCounters(),
    ...c,
  });

  it("sums states, takes the oldest due job for the age, and folds delayed jobs into scheduled", () => {
    const s = buildSnapshot({
      now,
      windowMinutes: 15,
      states: [
        { type: "a", state: "ready", count: 3, oldestAt: now - 61_000 },
        { type: "b", state: "ready", count: 2, oldestAt: now - 10_000 },
        { type: "a", state: "delayed", count: 4, oldestAt: now + 60_000 },
        { type: "a", state: "scheduled", count: 1, oldestAt: null },
        { type: "b", state: "running", count: 5, oldestAt: null },
        { type: "b", state: "retrying", count: 6, oldestAt: null },
        { type: "b", state: "dead", count: 7, oldestAt: null },
        { type: "a", state: "waiting", count: 8, oldestAt: null },
      ],
      minutes: [],
      queue: null,
    });
    expect(s).toMatchObject({
      depth: 5,
      oldestAgeSeconds: 61,
      scheduled: 5,
      running: 5,
      retrying: 6,
      waiting: 8,
      dead: 7,
    });
    expect(s.byType.a).toMatchObject({ depth: 3, oldestAgeSeconds: 61, scheduled: 5, running: 0, waiting: 8 });
    expect(s.byType.b).toMatchObject({ depth: 2, oldestAgeSeconds: 10, dead: 7, waiting: 0 });
    expect(s.queue).toBeNull();
  });

  it("computes rates over the window and ignores older minutes", () => {
    const s = buildSnapshot({
      now,
      windowMinutes: 15,
      states: [],
      minutes: [
        row("a", minute, { started: 10, succeeded: 6, failed: 2, dead: 2, buckets: counts([[0, 10]]) }),
        row("a", minute - 14, { started: 5, succeeded: 5, deferred: 3, buckets: counts([[5, 5]]) }),
        row("a", minute - 15, { started: 100, succeeded: 100, buckets: counts([[11, 100]]) }),
      ],
      queue: { messages: 12, oldestAt: now - 30_000 },
    });
    expect(s.window).toEqual({ started: 15, succeeded: 11, failed: 2, dead: 2, deferred: 3 });
    expect(s.throughputPerMinute).toBe(Math.round((13 / 15) * 1000) / 1000);
    expect(s.retryRate).toBe(Math.round((2 / 15) * 10_000) / 10_000);
    expect(s.failureRate).toBe(Math.round((2 / 13) * 10_000) / 10_000);
    // 10 fast + 5 in (250, 500]: p50 in the fast bucket, p95 in the slow one; the old minute's 30 s+ are out.
    expect(s.durationMs.p50).toBe(8);
    expect(s.durationMs.p95).toBe(463); // rank 14.25: 250 + 250 · (14.25 − 10) / 5
    expect(s.queue).toEqual({ backlog: 12, oldestAgeSeconds: 30 });
  });

  it("reports zero rates and null percentiles when nothing ran", () => {
    const s = buildSnapshot({ now, windowMinutes: 15, states: [], minutes: [], queue: null });
    expect(s).toMatchObject({
      depth: 0,
      oldestAgeSeconds: 0,
      throughputPerMinute: 0,
      retryRate: 0,
      failureRate: 0,
      durationMs: { p50: null, p95: null },
      byType: {},
      generatedAt: new Date(now).toISOString(),
    });
  });

  it("lays out a per-minute series for the chart, oldest first, gaps filled", () => {
    const series = throughputSeries(
      [row("a", minute, { succeeded: 2 }), row("b", minute, { dead: 1 }), row("a", minute - 2, { failed: 4 })],
      now,
      3,
    );
    expect(series).toEqual([
      { minute: minute - 2, succeeded: 0, failed: 4, dead: 0 },
      { minute: minute - 1, succeeded: 0, failed: 0, dead: 0 },
      { minute, succeeded: 2, failed: 0, dead: 1 },
    ]);
  });
});
