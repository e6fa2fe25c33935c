import { describe, expect, it } from "vitest";
import { canonicalTimezone, cronProblem } from "../../src/contract/cron-rules";
import { firesBetween, MAX_CATCH_UP_PER_TICK, nextFire, ON_TIME_MS, planFires } from "../../src/core/cron";

const t = (iso: string) => Date.parse(iso);
const isos = (times: number[]) => times.map((ms) => new Date(ms).toISOString());
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe("cron expressions", () => {
  it("accepts 5-field expressions and says what is wrong with others", () => {
    expect(cronProblem("0 9 * * 1-5")).toBeNull();
    expect(cronProblem("*/15 * * * *")).toBeNull();
    expect(cronProblem("61 * * * *")).toMatch(/minute/);
    expect(cronProblem("0 0 * * * *")).toMatch(/5 fields/);
    expect(cronProblem("@hourly")).toMatch(/5 fields/);
    expect(cronProblem("2030-01-01T00:00:00")).toMatch(/5 fields/);
    expect(cronProblem("0 0 31 2 *")).toBe("never fires");
    expect(cronProblem("banana * * * *")).not.toBeNull();
  });

  it("knows IANA zones and canonicalises their spelling", () => {
    expect(canonicalTimezone("UTC")).toBe("UTC");
    expect(canonicalTimezone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(canonicalTimezone("europe/berlin")).toBe("Europe/Berlin");
    expect(canonicalTimezone("Mars/Olympus_Mons")).toBeNull();
  });

  it("lists fire times after a given now, in the schedule's zone", () => {
    const nine = { cron: "0 9 * * *", timezone: "America/New_York" };
    expect(isos([nextFire(nine, t("2027-01-05T00:00:00Z")) ?? 0])).toEqual(["2027-01-05T14:00:00.000Z"]);
    // Strictly after: a now exactly on a fire time moves to the next one.
    expect(nextFire(nine, t("2027-01-05T14:00:00Z"))).toBe(t("2027-01-06T14:00:00Z"));
    const hourly = { cron: "0 * * * *", timezone: "UTC" };
    expect(isos(firesBetween(hourly, t("2027-01-01T01:00:00Z"), t("2027-01-01T03:30:00Z"), 10))).toEqual([
      "2027-01-01T01:00:00.000Z",
      "2027-01-01T02:00:00.000Z",
      "2027-01-01T03:00:00.000Z",
    ]);
  });
});

describe("DST in Europe/Berlin", () => {
  // 2027-03-28: 02:00 CET jumps to 03:00 CEST (01:00 UTC). 2027-10-31: 03:00 CEST falls back to 02:00 CET (01:00 UTC).
  const fixed = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
  const everyHalfHour = { cron: "*/30 * * * *", timezone: "Europe/Berlin" };

  it("spring forward: a fixed time inside the gap runs once at the gap's end, interval times inside it are skipped", () => {
    expect(isos(firesBetween(fixed, t("2027-03-27T00:00:00Z"), t("2027-03-29T23:59:00Z"), 10))).toEqual([
      "2027-03-27T01:30:00.000Z", // 02:30 CET
      "2027-03-28T01:00:00.000Z", // 02:30 does not exist: 03:00 CEST
      "2027-03-29T00:30:00.000Z", // 02:30 CEST
    ]);
    expect(isos(firesBetween(everyHalfHour, t("2027-03-28T00:00:00Z"), t("2027-03-28T02:00:00Z"), 10))).toEqual([
      "2027-03-28T00:00:00.000Z", // 01:00 CET
      "2027-03-28T00:30:00.000Z", // 01:30 CET
      "2027-03-28T01:00:00.000Z", // 03:00 CEST (02:00 and 02:30 never happen)
      "2027-03-28T01:30:00.000Z",
      "2027-03-28T02:00:00.000Z",
    ]);
  });

  it("fall back: a fixed time in the repeated hour runs once, interval times run in both passes", () => {
    expect(isos(firesBetween(fixed, t("2027-10-30T00:00:00Z"), t("2027-11-01T23:59:00Z"), 10))).toEqual([
      "2027-10-30T00:30:00.000Z", // 02:30 CEST
      "2027-10-31T00:30:00.000Z", // the first 02:30 (CEST) only
      "2027-11-01T01:30:00.000Z", // 02:30 CET
    ]);
    expect(isos(firesBetween(everyHalfHour, t("2027-10-30T23:30:00Z"), t("2027-10-31T02:00:00Z"), 10))).toEqual([
      "2027-10-30T23:30:00.000Z", // 01:30 CEST
      "2027-10-31T00:00:00.000Z", // 02:00 CEST
      "2027-10-31T00:30:00.000Z", // 02:30 CEST
      "2027-10-31T01:00:00.000Z", // 02:00 CET
      "2027-10-31T01:30:00.000Z", // 02:30 CET
      "2027-10-31T02:00:00.000Z", // 03:00 CET
    ]);
  });
});

describe("planFires: which fire times a tick fires", () => {
  const hourly = { cron: "0 * * * *", timezone: "UTC" };
  const noon = t("2027-01-10T12:00:00Z");

  it("fires an on-time fire, including when the tick runs a little late", () => {
    expect(planFires(hourly, "latest", noon, noon)).toEqual({ fires: [noon], nextRunAt: noon + HOUR });
    expect(planFires(hourly, "none", noon, noon + 90_000)).toEqual({ fires: [noon], nextRunAt: noon + HOUR });
  });

  it("fires nothing before the next fire time", () => {
    expect(planFires(hourly, "latest", noon, noon - 1)).toEqual({ fires: [], nextRunAt: noon });
  });

  it("after downtime fires only the most recent missed time by default, then the on-time one", () => {
    // Nothing ticked from 09:00 to 12:00: 09:00, 10:00 and 11:00 were missed.
    const plan = planFires(hourly, "latest", noon - 3 * HOUR, noon);
    expect(isos(plan.fires)).toEqual(["2027-01-10T11:00:00.000Z", "2027-01-10T12:00:00.000Z"]);
    expect(plan.nextRunAt).toBe(noon + HOUR);
    // Ticking again only at 12:30: 11:00 and 12:00 were both missed, and only 12:00 fires.
    expect(isos(planFires(hourly, "latest", noon - HOUR, noon + 30 * MINUTE).fires)).toEqual([
      "2027-01-10T12:00:00.000Z",
    ]);
  });

  it("catchUp all fires every missed time, a bounded number per tick", () => {
    const plan = planFires(hourly, "all", noon - 3 * HOUR, noon);
    expect(isos(plan.fires)).toEqual([
      "2027-01-10T09:00:00.000Z",
      "2027-01-10T10:00:00.000Z",
      "2027-01-10T11:00:00.000Z",
      "2027-01-10T12:00:00.000Z",
    ]);
    const everyMinute = { cron: "* * * * *", timezone: "UTC" };
    const long = planFires(everyMinute, "all", noon - 3 * HOUR, noon);
    expect(long.fires).toHaveLength(MAX_CATCH_UP_PER_TICK);
    expect(long.fires[0]).toBe(noon - 3 * HOUR);
    // The next tick carries on right after the last fire handled here.
    expect(long.nextRunAt).toBe(noon - 3 * HOUR + MAX_CATCH_UP_PER_TICK * MINUTE);
  });

  it("catchUp none skips missed times and keeps on-time ones", () => {
    expect(isos(planFires(hourly, "none", noon - 3 * HOUR, noon).fires)).toEqual(["2027-01-10T12:00:00.000Z"]);
    expect(planFires(hourly, "none", noon - 3 * HOUR, noon + ON_TIME_MS + 1)).toEqual({
      fires: [],
      nextRunAt: noon + HOUR,
    });
  });
});
