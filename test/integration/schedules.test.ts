import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import type { Schedule } from "../../src/contract/schemas";
import { call, newTenant, waitForStatus } from "../fixtures/api";
import { atTime, MINUTE } from "../fixtures/clock";

type ErrorBody = { error: { code: string; message: string; issues?: { path: string; message: string }[] } };
type Page = { data: Schedule[]; nextCursor: string | null };

const daily = { name: "nightly-cleanup", cron: "0 3 * * *", timezone: "Europe/Berlin", type: "test-echo" };

async function create(key: string, body: Record<string, unknown>): Promise<Schedule> {
  const res = await call<Schedule>("POST", "/v1/schedules", { token: key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function count(key: string): Promise<number> {
  return (await call<Page>("GET", "/v1/schedules", { token: key })).body.data.length;
}

describe("schedules API", () => {
  it("creates a schedule with its next fire time in its zone, and reads it back", async () => {
    const { key } = await newTenant();
    // 2027-01-10 12:00 UTC is 13:00 in Berlin: the next 03:00 Berlin is 02:00 UTC the next day.
    const created = await atTime(Date.parse("2027-01-10T12:00:00Z"), () =>
      create(key, { ...daily, payload: { value: 1 }, jobOptions: { maxAttempts: 2, metadata: { team: "ops" } } }),
    );
    expect(created).toMatchObject({
      name: "nightly-cleanup",
      cron: "0 3 * * *",
      timezone: "Europe/Berlin",
      type: "test-echo",
      payload: { value: 1 },
      jobOptions: { maxAttempts: 2, metadata: { team: "ops" } },
      enabled: true,
      catchUp: "latest",
      nextRunAt: "2027-01-11T02:00:00.000Z",
      lastRunAt: null,
      createdAt: "2027-01-10T12:00:00.000Z",
    });
    expect(created.id).toMatch(/^sch_[0-9A-Z]{26}$/);

    const got = await call<Schedule>("GET", `/v1/schedules/${created.id}`, { token: key });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created);
  });

  it("defaults the zone to UTC and canonicalises its spelling", async () => {
    const { key } = await newTenant();
    const utc = await create(key, { name: "a", cron: "*/5 * * * *", type: "test-echo" });
    expect(utc.timezone).toBe("UTC");
    const berlin = await create(key, { name: "b", cron: "*/5 * * * *", timezone: "europe/berlin", type: "test-echo" });
    expect(berlin.timezone).toBe("Europe/Berlin");
  });

  it("refuses bad input with the contract's errors and stores nothing", async () => {
    const { key } = await newTenant();
    const cases: [Record<string, unknown>, number, string, string | undefined][] = [
      [{ ...daily, cron: "61 * * * *" }, 400, "invalid_request", "cron"],
      [{ ...daily, cron: "0 3 * * * *" }, 400, "invalid_request", "cron"],
      [{ ...daily, cron: "0 0 31 2 *" }, 400, "invalid_request", "cron"],
      [{ ...daily, timezone: "Mars/Olympus_Mons" }, 400, "invalid_request", "timezone"],
      [{ ...daily, catchUp: "sometimes" }, 400, "invalid_request", "catchUp"],
      [{ ...daily, jobOptions: { maxAttempts: 0 } }, 400, "invalid_request", "jobOptions.maxAttempts"],
      [{ ...daily, type: "test-flaky", payload: { failTimes: "x" } }, 400, "invalid_request", "payload.failTimes"],
      [{ ...daily, type: "no-such-type" }, 422, "unknown_job_type", undefined],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await call<ErrorBody>("POST", "/v1/schedules", { token: key, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.code).toBe(code);
      if (path) expect(res.body.error.issues?.map((i) => i.path)).toContain(path);
    }
    expect(await count(key)).toBe(0);

    await create(key, daily);
    const duplicate = await call<ErrorBody>("POST", "/v1/schedules", {
      token: key,
      body: { ...daily, cron: "0 4 * * *" },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe("conflict");
    const list = await call<Page>("GET", "/v1/schedules", { token: key });
    expect(list.body.data.map((s) => s.cron)).toEqual(["0 3 * * *"]);
  });

  it("lists newest first with a cursor, and hides other tenants' schedules behind 404", async () => {
    const { key } = await newTenant();
    const other = await newTenant();
    const made: Schedule[] = [];
    for (const name of ["one", "two", "three"]) made.push(await create(key, { ...daily, name }));
    const first = await call<Page>("GET", "/v1/schedules?limit=2", { token: key });
    expect(first.body.data.map((s) => s.name)).toEqual(["three", "two"]);
    const second = await call<Page>(`GET`, `/v1/schedules?limit=2&cursor=${first.body.nextCursor}`, { token: key });
    expect(second.body).toEqual({ data: [made[0]], nextCursor: null });

    const id = made[0]?.id;
    expect((await call("GET", `/v1/schedules/${id}`, { token: other.key })).status).toBe(404);
    expect((await call("PATCH", `/v1/schedules/${id}`, { token: other.key, body: { enabled: false } })).status).toBe(
      404,
    );
    expect((await call("POST", `/v1/schedules/${id}/run`, { token: other.key })).status).toBe(404);
    expect((await call("DELETE", `/v1/schedules/${id}`, { token: other.key })).status).toBe(404);
    expect((await call<Page>("GET", "/v1/schedules", { token: other.key })).body.data).toEqual([]);
  });

  it("pauses and resumes: paused has no next fire time, resuming starts from the next one after now", async () => {
    const { key } = await newTenant();
    const start = Date.parse("2027-02-01T10:00:30Z");
    const schedule = await atTime(start, () => create(key, { ...daily, name: "m", cron: "* * * * *" }));
    expect(schedule.nextRunAt).toBe("2027-02-01T10:01:00.000Z");

    const paused = await atTime(start + MINUTE, () =>
      call<Schedule>("PATCH", `/v1/schedules/${schedule.id}`, { token: key, body: { enabled: false } }),
    );
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ enabled: false, nextRunAt: null });

    const resumed = await atTime(start + 30 * MINUTE, () =>
      call<Schedule>("PATCH", `/v1/schedules/${schedule.id}`, { token: key, body: { enabled: true } }),
    );
    expect(resumed.body).toMatchObject({ enabled: true, nextRunAt: "2027-02-01T10:31:00.000Z" });

    // A new cron recomputes the next fire time; other changes keep it.
    const recron = await atTime(start + 30 * MINUTE, () =>
      call<Schedule>("PATCH", `/v1/schedules/${schedule.id}`, { token: key, body: { cron: "0 12 * * *" } }),
    );
    expect(recron.body.nextRunAt).toBe("2027-02-01T11:00:00.000Z"); // noon in Berlin (UTC+1)
    const renamed = await call<Schedule>("PATCH", `/v1/schedules/${schedule.id}`, {
      token: key,
      body: { name: "noon", payload: { value: "x" } },
    });
    expect(renamed.body).toMatchObject({ name: "noon", payload: { value: "x" }, nextRunAt: recron.body.nextRunAt });
  });

  it("refuses bad changes with the contract's errors and changes nothing", async () => {
    const { key } = await newTenant();
    const a = await create(key, { ...daily, name: "a" });
    await create(key, { ...daily, name: "b" });
    const cases: [Record<string, unknown>, number][] = [
      [{}, 400],
      [{ cron: "every day" }, 400],
      [{ timezone: "Nowhere/City" }, 400],
      [{ type: "no-such-type" }, 422],
      [{ type: "test-flaky" }, 400], // its payload ({}) lacks failTimes
      [{ name: "b" }, 409],
    ];
    for (const [body, status] of cases) {
      const res = await call<ErrorBody>("PATCH", `/v1/schedules/${a.id}`, { token: key, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
    }
    expect((await call<Schedule>("GET", `/v1/schedules/${a.id}`, { token: key })).body).toEqual(a);
  });

  it("runs now: a queued job tagged with the schedule, which succeeds; lastRunAt records it", async () => {
    const { key } = await newTenant();
    const schedule = await create(key, { ...daily, payload: { value: "now" }, enabled: false });
    const run = await call<Job>("POST", `/v1/schedules/${schedule.id}/run`, { token: key });
    expect(run.status).toBe(202);
    expect(run.body).toMatchObject({ type: "test-echo", status: "queued", metadata: { scheduleId: schedule.id } });
    const done = await waitForStatus(key, run.body.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.result).toEqual({ echoed: "now" });
    const after = await call<Schedule>("GET", `/v1/schedules/${schedule.id}`, { token: key });
    expect(after.body.lastRunAt).toBe(run.body.createdAt);
    expect(after.body.nextRunAt).toBeNull();
  });

  it("deletes a schedule; the jobs it made stay", async () => {
    const { key } = await newTenant();
    const schedule = await create(key, daily);
    const run = await call<Job>("POST", `/v1/schedules/${schedule.id}/run`, { token: key });
    expect((await call("DELETE", `/v1/schedules/${schedule.id}`, { token: key })).status).toBe(204);
    expect((await call("GET", `/v1/schedules/${schedule.id}`, { token: key })).status).toBe(404);
    expect((await call("DELETE", `/v1/schedules/${schedule.id}`, { token: key })).status).toBe(404);
    expect((await call("GET", `/v1/jobs/${run.body.id}`, { token: key })).status).toBe(200);
  });

  it("documents the schedule routes in the OpenAPI document", async () => {
    const doc = await call<{ paths: Record<string, Record<string, unknown>> }>("GET", "/openapi.json");
    expect(Object.keys(doc.body.paths["/v1/schedules"] ?? {})).toEqual(["post", "get"]);
    expect(Object.keys(doc.body.paths["/v1/schedules/{id}"] ?? {}).sort()).toEqual(["delete", "get", "patch"]);
    expect(Object.keys(doc.body.paths["/v1/schedules/{id}/run"] ?? {})).toEqual(["post"]);
  });
});
