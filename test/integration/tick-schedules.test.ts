import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import type { Schedule } from "../../src/contract/schemas";
import { defineSchedule } from "../../src/scheduler/define-schedule";
import { createWorker } from "../../src/worker";
import { call, newTenant, waitForStatus } from "../fixtures/api";
import { atTime, HOUR, MINUTE, tickAt } from "../fixtures/clock";
import { defaultJobs } from "../fixtures/default-jobs";
import { testJobs } from "../fixtures/test-jobs";

const iso = (ms: number) => new Date(ms).toISOString();

async function create(key: string, body: Record<string, unknown>): Promise<Schedule> {
  const res = await call<Schedule>("POST", "/v1/schedules", { token: key, body: { type: "test-echo", ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** The fire times (runAt) of the jobs a schedule made, oldest first. */
async function fired(key: string, scheduleId: string): Promise<string[]> {
  const res = await call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: key });
  return res.body.data
    .filter((job) => job.metadata.scheduleId === scheduleId)
    .map((job) => job.runAt)
    .sort();
}

async function getSchedule(key: string, id: string): Promise<Schedule> {
  return (await call<Schedule>("GET", `/v1/schedules/${id}`, { token: key })).body;
}

/**
 * Fake minutes pass faster than the real consumer runs the fired jobs; a long outbox grace keeps the
 * rescue from re-sending them (and moving their runAt) while these tests walk the clock.
 */
const quietRescue = { vars: { OUTBOX_GRACE_SECONDS: String(30 * 86_400) } };
const tick = (at: number) => tickAt(at, quietRescue);

async function ticks(from: number, to: number, step = MINUTE) {
  for (let t = from; t <= to; t += step) await tick(t);
}

describe("the tick fires schedules", () => {
  it("makes exactly one job per fire time, whatever the duplicate and overlapping ticks", async () => {
    const { key } = await newTenant();
    const T = Date.parse("2027-04-05T08:00:00Z");
    const schedule = await atTime(T - 30_000, () => create(key, { name: "every-minute", cron: "* * * * *" }));
    expect(schedule.nextRunAt).toBe(iso(T));

    // The 08:00 tick delivered three times at once, then once more.
    await Promise.all([tick(T), tick(T), tick(T)]);
    await tick(T);
    // The 08:01 tick twice at once, overlapping a late copy of the 08:00 one.
    await Promise.all([tick(T + MINUTE), tick(T + MINUTE), tick(T + 5_000)]);

    expect(await fired(key, schedule.id)).toEqual([iso(T), iso(T + MINUTE)]);
    const after = await getSchedule(key, schedule.id);
    expect(after).toMatchObject({ lastRunAt: iso(T + MINUTE), nextRunAt: iso(T + 2 * MINUTE) });

    // Each job got its message: both run to succeeded.
    const jobs = (await call<{ data: Job[] }>("GET", "/v1/jobs", { token: key })).body.data;
    for (const job of jobs) expect((await waitForStatus(key, job.id, ["succeeded", "dead"])).status).toBe("succeeded");
  });

  it("handles the DST spring-forward in Europe/Berlin as documented", async () => {
    const { key } = await newTenant();
    // 2027-03-28 01:00 UTC: 02:00 CET becomes 03:00 CEST, so 02:00–02:59 local never happens.
    const before = Date.parse("2027-03-27T23:59:30Z");
    const fixed = await atTime(before, () =>
      create(key, { name: "fixed", cron: "30 2 * * *", timezone: "Europe/Berlin" }),
    );
    const half = await atTime(before, () =>
      create(key, { name: "half", cron: "*/30 * * * *", timezone: "Europe/Berlin" }),
    );
    // A tick every five minutes through the night: every fire time of both schedules falls on one.
    await ticks(Date.parse("2027-03-28T00:00:00Z"), Date.parse("2027-03-28T02:00:00Z"), 5 * MINUTE);

    // A fixed time inside the gap runs once, at the gap's end (03:00 CEST).
    expect(await fired(key, fixed.id)).toEqual(["2027-03-28T01:00:00.000Z"]);
    // Interval times inside the gap are skipped: 01:00, 01:30 CET, then 03:00, 03:30, 04:00 CEST.
    expect(await fired(key, half.id)).toEqual([
      "2027-03-28T00:00:00.000Z",
      "2027-03-28T00:30:00.000Z",
      "2027-03-28T01:00:00.000Z",
      "2027-03-28T01:30:00.000Z",
      "2027-03-28T02:00:00.000Z",
    ]);
  });

  it("handles the DST fall-back in Europe/Berlin as documented", async () => {
    const { key } = await newTenant();
    // 2027-10-31 01:00 UTC: 03:00 CEST falls back to 02:00 CET, so 02:00–02:59 local happens twice.
    const before = Date.parse("2027-10-30T23:59:30Z");
    const fixed = await atTime(before, () =>
      create(key, { name: "fixed", cron: "30 2 * * *", timezone: "Europe/Berlin" }),
    );
    const half = await atTime(before, () =>
      create(key, { name: "half", cron: "*/30 * * * *", timezone: "Europe/Berlin" }),
    );
    await ticks(Date.parse("2027-10-31T00:00:00Z"), Date.parse("2027-10-31T02:00:00Z"), 5 * MINUTE);

    // A fixed time in the repeated hour runs once, on its first pass (02:30 CEST).
    expect(await fired(key, fixed.id)).toEqual(["2027-10-31T00:30:00.000Z"]);
    // Interval times run on both passes: 02:00, 02:30 CEST, 02:00, 02:30 CET, 03:00 CET.
    expect(await fired(key, half.id)).toEqual([
      "2027-10-31T00:00:00.000Z",
      "2027-10-31T00:30:00.000Z",
      "2027-10-31T01:00:00.000Z",
      "2027-10-31T01:30:00.000Z",
      "2027-10-31T02:00:00.000Z",
    ]);
  });

  it("after downtime catches up only the most recent missed fire by default; all or none on request", async () => {
    const { key } = await newTenant();
    const nine = Date.parse("2027-05-03T09:00:00Z");
    const [latest, all, none] = await atTime(nine - 30_000, () =>
      Promise.all([
        create(key, { name: "latest", cron: "0 * * * *" }),
        create(key, { name: "all", cron: "0 * * * *", catchUp: "all" }),
        create(key, { name: "none", cron: "0 * * * *", catchUp: "none" }),
      ]),
    );
    await tick(nine);
    // Nothing ticks from 09:01 to 12:29: 10:00, 11:00 and 12:00 are missed.
    await tick(nine + 3 * HOUR + 30 * MINUTE);
    await tick(nine + 4 * HOUR);

    const at = (hour: number) => `2027-05-03T${String(hour).padStart(2, "0")}:00:00.000Z`;
    expect(await fired(key, latest?.id ?? "")).toEqual([at(9), at(12), at(13)]);
    expect(await fired(key, all?.id ?? "")).toEqual([at(9), at(10), at(11), at(12), at(13)]);
    expect(await fired(key, none?.id ?? "")).toEqual([at(9), at(13)]);
  });

  it("fires nothing while paused and resumes without a burst", async () => {
    const { key } = await newTenant();
    const T = Date.parse("2027-06-01T10:00:00Z");
    const schedule = await atTime(T - 30_000, () => create(key, { name: "paused", cron: "* * * * *" }));
    await tick(T);
    await atTime(T + 30_000, () =>
      call("PATCH", `/v1/schedules/${schedule.id}`, { token: key, body: { enabled: false } }),
    );
    await ticks(T + MINUTE, T + 10 * MINUTE);
    expect(await fired(key, schedule.id)).toEqual([iso(T)]);

    const resumed = await atTime(T + 10 * MINUTE + 30_000, () =>
      call<Schedule>("PATCH", `/v1/schedules/${schedule.id}`, { token: key, body: { enabled: true } }),
    );
    expect(resumed.body.nextRunAt).toBe(iso(T + 11 * MINUTE));
    await ticks(T + 11 * MINUTE, T + 12 * MINUTE);
    // None of the ten paused minutes fire, not even as a catch-up.
    expect(await fired(key, schedule.id)).toEqual([iso(T), iso(T + 11 * MINUTE), iso(T + 12 * MINUTE)]);
  });

  it("turns a fire the deployment can no longer run into a dead job with the reason, and carries on", async () => {
    const { key } = await newTenant();
    const T = Date.parse("2027-07-01T00:00:00Z");
    const schedule = await atTime(T - 30_000, () => create(key, { name: "orphan", cron: "* * * * *" }));
    // A deploy without the test job types: "test-echo" is gone.
    await tickAt(T, { handler: createWorker({ jobs: defaultJobs }) });
    const dead = await call<{ data: Job[] }>("GET", "/v1/dead", { token: key });
    expect(dead.body.data).toHaveLength(1);
    expect(dead.body.data[0]?.error?.message).toMatch(/schedule fire refused: unknown job type "test-echo"/);
    expect((await getSchedule(key, schedule.id)).nextRunAt).toBe(iso(T + MINUTE));
  });
});

describe("schedules declared in code", () => {
  it("are upserted by name on a Worker's first tick, keeping a pause made through the API", async () => {
    const { key, tenant } = await newTenant();
    const T = Date.parse("2027-08-02T05:00:00Z");
    const declare = (cron: string) =>
      defineSchedule({
        tenant,
        name: "morning-report",
        cron,
        timezone: "Europe/Berlin",
        type: "test-echo",
        payload: { value: "report" },
      });

    const first = createWorker({ jobs: [...defaultJobs, ...testJobs], schedules: [declare("0 7 * * *")] });
    await tickAt(T, { handler: first });
    const [stored] = (await call<{ data: Schedule[] }>("GET", "/v1/schedules", { token: key })).body.data;
    expect(stored).toMatchObject({
      name: "morning-report",
      cron: "0 7 * * *",
      enabled: true,
      payload: { value: "report" },
      // 07:00 in Berlin (CEST) is 05:00 UTC; the sync ran at exactly that time, so the next is tomorrow's.
      nextRunAt: "2027-08-03T05:00:00.000Z",
    });

    // A pause through the API survives a new deploy; a new cron from the code replaces the old one.
    await call("PATCH", `/v1/schedules/${stored?.id}`, { token: key, body: { enabled: false } });
    const redeployed = createWorker({ jobs: [...defaultJobs, ...testJobs], schedules: [declare("30 6 * * *")] });
    await tickAt(T + MINUTE, { handler: redeployed });
    const after = (await call<{ data: Schedule[] }>("GET", "/v1/schedules", { token: key })).body.data;
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: stored?.id, cron: "30 6 * * *", enabled: false, nextRunAt: null });
  });

  it("refuse to start with a bad declaration", () => {
    const base = { tenant: "acme", name: "x", cron: "0 7 * * *", type: "test-echo" };
    expect(() => defineSchedule({ ...base, cron: "0 7 * *" })).toThrow(/cron: must have 5 fields/);
    expect(() => defineSchedule({ ...base, timezone: "Atlantis/Capital" })).toThrow(/unknown IANA time zone/);
    expect(() => defineSchedule({ ...base, tenant: "Not A Tenant" })).toThrow(/tenant/);
    expect(() => createWorker({ jobs: defaultJobs, schedules: [defineSchedule(base)] })).toThrow(/unknown job type/);
    expect(() =>
      createWorker({
        jobs: [...defaultJobs, ...testJobs],
        schedules: [defineSchedule({ ...base, type: "test-flaky", payload: { failTimes: "no" } })],
      }),
    ).toThrow(/payload does not match/);
    expect(() =>
      createWorker({ jobs: [...defaultJobs, ...testJobs], schedules: [defineSchedule(base), defineSchedule(base)] }),
    ).toThrow(/declared twice/);
  });
});
