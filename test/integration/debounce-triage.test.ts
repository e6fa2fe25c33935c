// Debounce and the consumer (issue #16): a debounced job is claimed before it runs, and a delivery that comes before
// its moved start is carried forward to it (engine/triage.ts), so the handler runs once, with the last payload.
import { describe, expect, it } from "vitest";
import { capturingQueue } from "../fixtures/engine-doubles";
import { debounce, deliver, echo, newTenantName, releaseHeld, runsOf, stored } from "./debounce-harness";

describe("debounced jobs in the consumer", () => {
  it("bounces a delivery that comes before the moved start instead of running the job early (triage)", async () => {
    const tenant = newTenantName("debbounce");
    const { queue, sent } = capturingQueue();
    const t0 = Date.now();
    const [first] = await debounce(tenant, queue, [echo("a", "bounce", 10)], t0);
    await debounce(tenant, queue, [echo("b", "bounce", 10)], t0 + 6_000);
    const jobId = first?.row.id ?? "";
    expect(sent).toHaveLength(1);

    // The window's one message comes when the first start was due (t0 + 10 s): the start is now t0 + 16 s.
    const early = await deliver(sent, t0 + 10_000, queue);
    expect(runsOf(jobId)).toEqual([]);
    expect(early.get("m0")?.kind).toBe("ack");
    const bounced = sent.slice(1);
    expect(bounced).toHaveLength(1);
    expect(bounced[0]?.delaySeconds).toBe(6);

    await deliver(bounced, t0 + 16_000, queue);
    expect(runsOf(jobId)).toEqual([{ jobId, value: "b" }]);
  });

  it("opens a new window once the job has started: an enqueue while it runs, or after it finished, is a new job", async () => {
    const tenant = newTenantName("debstart");
    const { queue, sent } = capturingQueue();
    const t0 = Date.now();
    const [first] = await debounce(tenant, queue, [echo("hold", "start", 1)], t0);
    const firstId = first?.row.id ?? "";
    const running = deliver(sent.slice(0, 1), t0 + 1_000, queue);
    while (runsOf(firstId).length === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    // The job is running (claimed before it ran, as every debounced job is): this enqueue cannot change it.
    const [during] = await debounce(tenant, queue, [echo("during", "start", 1)], t0 + 1_500);
    expect(during?.debounced).toBe(false);
    expect(during?.row.id).not.toBe(firstId);
    releaseHeld();
    await running;
    expect(runsOf(firstId)).toEqual([{ jobId: firstId, value: "hold" }]);
    const firstRow = await stored(tenant, firstId);
    expect(firstRow.status).toBe("succeeded");
    expect(JSON.parse(firstRow.payload)).toEqual({ value: "hold" });

    // The second window's job runs; after it finished, the next enqueue is a third job.
    const secondId = during?.row.id ?? "";
    await deliver(sent.slice(1), t0 + 3_000, queue);
    expect(runsOf(secondId)).toEqual([{ jobId: secondId, value: "during" }]);
    const [after] = await debounce(tenant, queue, [echo("after", "start", 1)], t0 + 4_000);
    expect(after?.debounced).toBe(false);
    expect(new Set([firstId, secondId, after?.row.id]).size).toBe(3);
  });
});
