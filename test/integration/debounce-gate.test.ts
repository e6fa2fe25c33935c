// Debounce through the KeyGate (issue #16), at the service: one job per open window, the last arrival's payload, the
// start pushed and bounded, tenants apart, refusals that write nothing, batches, the window's end.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PayloadTooLargeError, PayloadValidationError } from "../../src/core/enqueue-errors";
import type { DebounceWindow } from "../../src/gate/debounce";
import { debounceGate } from "../../src/gate/gate-client";
import type { DebouncedInput } from "../../src/service/debounce";
import { capturingQueue } from "../fixtures/engine-doubles";
import { debounce, deliver, echo, newTenantName, runsOf, stored, windowOf } from "./debounce-harness";

describe("debounce (KeyGate per tenant + debounce key)", () => {
  it("turns 100 concurrent enqueues with one key into one job with the last payload the gate applied, run once", async () => {
    const tenant = newTenantName("deb100");
    const { queue, sent } = capturingQueue();
    const answers = (
      await Promise.all(Array.from({ length: 100 }, (_, i) => debounce(tenant, queue, [echo(i, "burst")])))
    ).map(([a]) => a);

    const created = answers.filter((a) => a && !a.debounced);
    const replaced = answers.filter((a) => a?.debounced);
    expect(created).toHaveLength(1);
    expect(replaced).toHaveLength(99);
    const jobId = created[0]?.row.id ?? "";
    expect(new Set(answers.map((a) => a?.row.id))).toEqual(new Set([jobId]));
    // The gate applied the arrivals one by one: seq 1…100, each once; the opening one is seq 1.
    const seqs = answers.map((a) => a?.debounceSeq ?? 0).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(created[0]?.debounceSeq).toBe(1);
    const last = answers.find((a) => a?.debounceSeq === 100);
    const lastValue = (JSON.parse(last?.row.payload ?? "{}") as { value: number }).value;
    console.log(
      `100 concurrent: gate order of payload values ${JSON.stringify(
        [...answers]
          .sort((x, y) => (x?.debounceSeq ?? 0) - (y?.debounceSeq ?? 0))
          .map((a) => JSON.parse(a?.row.payload ?? "{}").value),
      )}; last applied ${lastValue}; messages sent ${sent.length}`,
    );

    const row = await stored(tenant, jobId);
    expect(JSON.parse(row.payload)).toEqual({ value: lastValue });
    // Arrivals that queue up behind a write in flight go as one write: far fewer D1 writes than enqueues.
    console.log(`100 concurrent: D1 writes 1 insert + ${row.runToken} replaces`);
    expect(row.runToken).toBeGreaterThanOrEqual(1);
    expect(row.runToken).toBeLessThan(99);
    expect(row.status).toBe("queued");
    expect((await windowOf(tenant, "burst"))?.seq).toBe(100);
    // One message for the window (a replace that moves the start later sends none); never one per enqueue.
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.length).toBeLessThan(10);

    // Every message delivered once the start has come, then all of them again (at-least-once): one run, the last payload.
    await deliver(sent, row.runAt + 1_000, queue);
    await deliver(sent, row.runAt + 2_000, queue);
    expect(runsOf(jobId)).toEqual([{ jobId, value: lastValue }]);
    const done = await stored(tenant, jobId);
    expect(done.status).toBe("succeeded");
    expect(JSON.parse(done.result ?? "null")).toEqual({ echoed: lastValue });
  });

  it("pushes the start `seconds` from each enqueue and never past maxWaitSeconds after the first", async () => {
    const tenant = newTenantName("debclock");
    const { queue } = capturingQueue();
    const t0 = Date.now();
    const starts: number[] = [];
    for (const at of [0, 8_000, 16_000, 24_000]) {
      const [a] = await debounce(tenant, queue, [echo(at, "clock", 10, 25)], t0 + at);
      starts.push((a?.row.runAt ?? 0) - t0);
    }
    expect(starts).toEqual([10_000, 18_000, 25_000, 25_000]);

    // Without maxWaitSeconds every enqueue pushes it again.
    const free: number[] = [];
    for (const at of [0, 8_000, 16_000]) {
      const [a] = await debounce(tenant, queue, [echo(at, "unbounded", 10)], t0 + at);
      free.push((a?.row.runAt ?? 0) - t0);
    }
    expect(free).toEqual([10_000, 18_000, 26_000]);
  });

  it("waits as scheduled past the queue's longest delay, and a shorter `seconds` later brings it back with a message", async () => {
    const tenant = newTenantName("debsched");
    const { queue, sent } = capturingQueue();
    const t0 = Date.now();
    const [far] = await debounce(tenant, queue, [echo("far", "sched", 13 * 3600)], t0);
    expect(far?.row).toMatchObject({ status: "scheduled", runAt: t0 + 13 * 3600 * 1000 });
    expect(sent).toHaveLength(0);

    const [near] = await debounce(tenant, queue, [echo("near", "sched", 5)], t0 + 1_000);
    expect(near).toMatchObject({ debounced: true, row: { id: far?.row.id, status: "queued", runAt: t0 + 6_000 } });
    expect(sent.map((m) => [m.body.id, m.delaySeconds])).toEqual([[far?.row.id, 5]]);
    expect((await stored(tenant, far?.row.id ?? "")).status).toBe("queued");
  });

  it("keeps tenants apart: the same key in two tenants makes two jobs", async () => {
    const a = newTenantName("deba");
    const b = newTenantName("debb");
    const { queue } = capturingQueue();
    const [[ja], [jb]] = await Promise.all([
      debounce(a, queue, [echo(1, "shared")]),
      debounce(b, queue, [echo(2, "shared")]),
    ]);
    expect([ja?.debounced, jb?.debounced]).toEqual([false, false]);
    expect(ja?.row.id).not.toBe(jb?.row.id);
    const [again] = await debounce(a, queue, [echo(3, "shared")]);
    expect(again).toMatchObject({ debounced: true, row: { id: ja?.row.id } });
    expect(JSON.parse((await stored(b, jb?.row.id ?? "")).payload)).toEqual({ value: 2 });
  });

  it("refuses bad debounce fields and a too-large payload on a replace: nothing written, the gate not advanced", async () => {
    const tenant = newTenantName("debbad");
    const { queue, sent } = capturingQueue();
    const [first] = await debounce(tenant, queue, [echo("kept", "guard")]);
    const jobId = first?.row.id ?? "";
    const before = await stored(tenant, jobId);
    const windowBefore = await windowOf(tenant, "guard");

    const refusals: [DebouncedInput, string[]][] = [
      [echo("x", "guard", 0), ["debounce.seconds"]],
      [echo("x", "guard", 86_401), ["debounce.seconds"]],
      [echo("x", "guard", 10, 5), ["debounce.maxWaitSeconds"]],
      [{ ...echo("x", "guard"), delaySeconds: 5 }, ["debounce"]],
      [{ ...echo("x", "guard"), idempotencyKey: "k" }, ["debounce"]],
      [{ ...echo("x", "guard"), debounce: { key: "", seconds: 5 } }, ["debounce.key"]],
      [{ type: "http", payload: { url: 42 }, debounce: { key: "guard", seconds: 5 } }, ["payload.url"]],
    ];
    for (const [item, paths] of refusals) {
      const error = await debounce(tenant, queue, [item]).catch((e: unknown) => e);
      expect(error, JSON.stringify(item)).toBeInstanceOf(PayloadValidationError);
      expect((error as PayloadValidationError).issues.map((i) => i.path)).toEqual(paths);
    }
    const big = await debounce(tenant, queue, [echo("x".repeat(300 * 1024), "guard")]).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(PayloadTooLargeError);

    expect(await stored(tenant, jobId)).toEqual(before);
    expect(await windowOf(tenant, "guard")).toEqual(windowBefore);
    expect(sent).toHaveLength(1);
  });

  it("applies items of one batch with the same key in order (the last wins) beside plain items", async () => {
    const tenant = newTenantName("debbatch");
    const { queue } = capturingQueue();
    const answers = await debounce(tenant, queue, [
      echo(1, "batch"),
      { type: "test-echo", payload: { value: "plain" } },
      echo(2, "batch"),
      echo(3, "other"),
      echo(4, "batch"),
    ]);
    expect(answers.map((a) => [a.debounced, a.debounceSeq ?? null])).toEqual([
      [false, 1],
      [false, null],
      [true, 2],
      [false, 1],
      [true, 3],
    ]);
    const batchJob = answers[0]?.row.id ?? "";
    expect(answers[4]?.row.id).toBe(batchJob);
    expect(JSON.parse((await stored(tenant, batchJob)).payload)).toEqual({ value: 4 });
    expect(answers[1]?.row.id).not.toBe(batchJob);
    expect(answers[3]?.row.id).not.toBe(batchJob);

    // A refused item refuses the whole request before anything is written.
    const error = await debounce(tenant, queue, [echo(5, "batch"), echo(6, "batch", 0)]).catch((e: unknown) => e);
    expect((error as PayloadValidationError).issues.map((i) => i.path)).toEqual(["jobs.1.debounce.seconds"]);
    expect(JSON.parse((await stored(tenant, batchJob)).payload)).toEqual({ value: 4 });
  });

  it("forgets a window a day after its job's start once the job has started (the alarm), and an open one survives the alarm", async () => {
    const tenant = newTenantName("debidle");
    const { queue, sent } = capturingQueue();
    const [first] = await debounce(tenant, queue, [echo(1, "idle")]);
    const gate = debounceGate(env.KEY_GATE, tenant, "idle");
    expect(await runDurableObjectAlarm(gate)).toBe(true);
    expect((await gate.debounceWindow())?.seq).toBe(1);

    // The job has run; its window's start is more than a day ago: the alarm forgets it.
    await deliver(sent, (first?.row.runAt ?? 0) + 1_000, queue);
    expect((await stored(tenant, first?.row.id ?? "")).status).toBe("succeeded");
    await runInDurableObject(gate, (_instance, state) => {
      const window = state.storage.kv.get<DebounceWindow>("debounce");
      state.storage.kv.put("debounce", { ...window, runAt: Date.now() - 25 * 3600 * 1000 });
    });
    expect(await runDurableObjectAlarm(gate)).toBe(true);
    await runInDurableObject(gate, (_instance, state) => {
      expect(state.storage.kv.get("debounce")).toBeUndefined();
    });
    const [next] = await debounce(tenant, queue, [echo(2, "idle")]);
    expect(next?.debounced).toBe(false);
  });
});
