import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import type { Schedule } from "../../src/contract/schemas";
import { type DevServer, startDev, waitForJob } from "./harness";

let dev: DevServer;
let key: string;

beforeAll(async () => {
  dev = await startDev();
  key = await dev.newKey("schedules-e2e");
});

afterAll(async () => {
  await dev?.stop();
});

/** Fires wrangler dev's cron handler with a chosen scheduledTime, as Cloudflare's trigger would. */
async function tickAt(ms: number): Promise<void> {
  const res = await fetch(`${dev.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=${ms}`);
  expect(res.status).toBe(200);
}

describe("schedules and delayed jobs on wrangler dev", () => {
  it("fires a schedule once for a tick delivered twice, and its job succeeds", async () => {
    const created = await dev.call<Schedule>("POST", "/v1/schedules", {
      token: key,
      body: { name: "every-minute", cron: "* * * * *", timezone: "Europe/Berlin", type: "cleanup-expired-sessions" },
    });
    expect(created.status).toBe(201);
    const fireAt = Date.parse(created.body.nextRunAt ?? "");
    expect(fireAt % 60_000).toBe(0);

    await tickAt(fireAt);
    await tickAt(fireAt);
    const jobs = await dev.call<{ data: Job[] }>("GET", "/v1/jobs", { token: key });
    const fired = jobs.body.data.filter((job) => job.metadata.scheduleId === created.body.id);
    expect(fired.map((job) => job.runAt)).toEqual([new Date(fireAt).toISOString()]);
    const done = await waitForJob<Job>(dev, key, fired[0]?.id ?? "", ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");

    const after = await dev.call<Schedule>("GET", `/v1/schedules/${created.body.id}`, { token: key });
    expect(after.body).toMatchObject({
      lastRunAt: new Date(fireAt).toISOString(),
      nextRunAt: new Date(fireAt + 60_000).toISOString(),
    });
  });

  it("releases a 3-day delayed job when the tick reaches its time, and it succeeds", async () => {
    const res = await dev.call<Job>("POST", "/v1/jobs", {
      token: key,
      body: { type: "cleanup-expired-sessions", delaySeconds: 3 * 86_400 },
    });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("scheduled");
    const runAt = Date.parse(res.body.runAt);
    await tickAt(runAt - 5 * 60_000);
    expect((await dev.call<Job>("GET", `/v1/jobs/${res.body.id}`, { token: key })).body.status).toBe("scheduled");
    await tickAt(runAt);
    const done = await waitForJob<Job>(dev, key, res.body.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
  });

  it("refuses bad schedules with the contract's errors", async () => {
    const base = { name: "bad", cron: "0 3 * * *", type: "cleanup-expired-sessions" };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...base, cron: "0 3 * *" }, 400, "invalid_request"],
      [{ ...base, timezone: "Europe/Atlantis" }, 400, "invalid_request"],
      [{ ...base, type: "no-such-type" }, 422, "unknown_job_type"],
    ];
    for (const [body, status, code] of cases) {
      const res = await dev.call<{ error: { code: string } }>("POST", "/v1/schedules", { token: key, body });
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    expect((await dev.call("POST", "/v1/schedules", { token: key, body: { ...base, name: "twice" } })).status).toBe(
      201,
    );
    expect((await dev.call("POST", "/v1/schedules", { token: key, body: { ...base, name: "twice" } })).status).toBe(
      409,
    );
  });
});
