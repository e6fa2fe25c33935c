// Review finding 1 (#16): a debounce window is kept while its job has not started, whatever its age; it is forgotten
// only once the job has started or ended (a job pushed or held for more than a day is still the one a new enqueue replaces).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { debounceGate } from "../../src/gate/gate-client";
import { capturingQueue } from "../fixtures/engine-doubles";
import { debounce, deliver, echo, newTenantName, stored } from "./debounce-harness";

const DAY = 24 * 3600 * 1000;

const jobCount = async (tenant: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(tenant).first<{ n: number }>())?.n ??
  0;

/** Waits (up to 2 s) for the object's alarm to be set past `after`; false when it never is. */
async function rearmedAfter(gate: ReturnType<typeof debounceGate>, after: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    const at = await runInDurableObject(gate, (_i, state) => state.storage.getAlarm());
    if (at !== null && at > after) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe("debounce window of an unstarted job (review finding 1)", () => {
  it("a window opened more than a day ago whose job has not started is still replaced: one job", async () => {
    const tenant = newTenantName("debkept");
    const { queue } = capturingQueue();
    const now = Date.now();
    // Opened 25 h ago; its job never started (held by a paused type, a backlog, …): still queued with attempts 0.
    const [first] = await debounce(tenant, queue, [echo("old", "held", 5)], now - 25 * 3600 * 1000);
    expect(first?.debounced).toBe(false);
    expect((await stored(tenant, first?.row.id ?? "")).attempts).toBe(0);

    const [next] = await debounce(tenant, queue, [echo("new", "held", 5)], now);
    expect(next).toMatchObject({ debounced: true, row: { id: first?.row.id } });
    expect(JSON.parse((await stored(tenant, first?.row.id ?? "")).payload)).toEqual({ value: "new" });
    expect(await jobCount(tenant)).toBe(1);
  });

  it("the alarm keeps a day-old window while its job is unstarted and forgets it once the job has run", async () => {
    const tenant = newTenantName("debkeptalarm");
    const { queue, sent } = capturingQueue();
    const now = Date.now();
    const [first] = await debounce(tenant, queue, [echo("old", "late", 5)], now - 2 * DAY);
    const jobId = first?.row.id ?? "";
    const gate = debounceGate(env.KEY_GATE, tenant, "late");

    // Its alarm (a linger after the job's start) is already due and fires by itself: it asks D1, keeps the window,
    // and looks again a linger later.
    await runDurableObjectAlarm(gate);
    expect(await rearmedAfter(gate, now + DAY / 2)).toBe(true);
    expect((await gate.debounceWindow())?.jobId).toBe(jobId);

    // The job starts (and here ends): the window is then forgotten, and the next enqueue opens a new one.
    await deliver(sent, now, queue);
    expect((await stored(tenant, jobId)).status).toBe("succeeded");
    expect(await runDurableObjectAlarm(gate)).toBe(true);
    await runInDurableObject(gate, (_i, state) => {
      expect(state.storage.kv.get("debounce")).toBeUndefined();
    });
    const [next] = await debounce(tenant, queue, [echo("new", "late", 5)], now);
    expect(next?.debounced).toBe(false);
    expect(next?.row.id).not.toBe(jobId);
    expect(await jobCount(tenant)).toBe(2);
  });
});
