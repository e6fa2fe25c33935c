// Issue #17: scripts/move-tenant.mjs moves a quiet tenant from its shard to another one on a stopped local dev,
// and after a restart on the same state folder every old job, its schedule and its held job are there.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import type { Schedule } from "../../src/contract/schemas";
import { type DevServer, startDev, waitForJob } from "./harness";
import { startLocalServer } from "./local-server";

let dev: DevServer | undefined;
let persistTo = "";
let target: Awaited<ReturnType<typeof startLocalServer>> | undefined;

afterAll(async () => {
  await dev?.stop();
  await target?.close();
  if (persistTo) rmSync(persistTo, { recursive: true, force: true });
});

describe("move-tenant", () => {
  it("moves every job and schedule of a tenant to another shard", { timeout: 150_000 }, async () => {
    target = await startLocalServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end('{"ok":true}');
    });
    dev = await startDev({ shards: 3 });
    const first = dev;
    persistTo = first.persistTo;
    const key = await first.newKey("mover");
    expect((await first.call("GET", "/v1/jobs?limit=1", { token: key })).status).toBe(200);
    const [placed] = await first.d1<{ shard: string }>(
      "DB",
      "SELECT shard FROM tenant_shards WHERE tenant_id = 'mover'",
    );
    const from = placed?.shard ?? "";
    expect(from).toBe("DB");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await first.call<Job>("POST", "/v1/jobs", {
        token: key,
        body: { type: "http", payload: { url: `${target.url}/ok`, method: "GET" } },
      });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    for (const id of ids) await waitForJob(first, key, id, ["succeeded"], 20_000);
    const schedule = await first.call<Schedule>("POST", "/v1/schedules", {
      token: key,
      body: { name: "every-minute", cron: "* * * * *", timezone: "Europe/Berlin", type: "cleanup-expired-sessions" },
    });
    expect(schedule.status).toBe(201);
    // crash() keeps the state folder (stop() would delete it): the script and the restart both need it.
    const port = first.port;
    await first.crash();
    dev = undefined;

    const to = "JOBS_DB_2";
    const out = execFileSync(
      process.execPath,
      [
        resolve("scripts/move-tenant.mjs"),
        "--tenant",
        "mover",
        "--to",
        to,
        "--config",
        join(persistTo, "shards", "wrangler.toml"),
        "--local",
        "--persist-to",
        persistTo,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(out).toContain(`moved mover: ${from} -> ${to}`);

    dev = await startDev({ shards: 3, restart: { persistTo, port } });
    const moved = await dev.d1<{ shard: string }>("DB", "SELECT shard FROM tenant_shards WHERE tenant_id = 'mover'");
    expect(moved[0]?.shard).toBe(to);
    const list = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: key });
    expect(list.body.data.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(list.body.data.every((j) => j.status === "succeeded")).toBe(true);
    const schedules = await dev.call<{ data: Schedule[] }>("GET", "/v1/schedules", { token: key });
    expect(schedules.body.data.map((s) => s.name)).toEqual(["every-minute"]);
    const [left] = await dev.d1<{ n: number }>(from, "SELECT count(*) AS n FROM jobs WHERE tenant_id = 'mover'");
    expect(left?.n).toBe(0);
    const [there] = await dev.d1<{ n: number }>(to, "SELECT count(*) AS n FROM jobs WHERE tenant_id = 'mover'");
    expect(there?.n).toBe(3);
  });
});
