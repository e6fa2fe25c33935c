// Debounce and the consumer (issue #16): a debounced job is claimed before it runs, and a delivery that comes before
// its moved start is carried forward to it (engine/triage.ts), so the handler runs once, with the last payload.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { capturingQueue, STAGE_SQL } from "../fixtures/engine-doubles";
import { debounce, deliver, echo, newTenantName, releaseHeld, runsOf, stored } from "./debounce-harness";

/** The real D1, except that the first batch carrying a claim first waits for `hook` (which may change the row). */
function beforeClaim(hook: () => Promise<void>): D1Database {
  const sqlOf = new WeakMap<object, string>();
  const originals = new WeakMap<object, D1PreparedStatement>();
  let fired = false;
  const wrap = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args), sql);
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    sqlOf.set(wrapped, sql);
    originals.set(wrapped, statement);
    return wrapped;
  };
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          if (!fired && statements.some((s) => STAGE_SQL.claim(sqlOf.get(s) ?? ""))) {
            fired = true;
            await hook();
          }
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("debounced jobs in the consumer", () => {
  it("never runs the payload a delivery read before a replace: its claim is lost, it waits, the new payload runs once", async () => {
    const tenant = newTenantName("debrace");
    const { queue, sent } = capturingQueue();
    const t0 = Date.now();
    const [first] = await debounce(tenant, queue, [echo("old", "race", 1)], t0);
    const jobId = first?.row.id ?? "";

    // The consumer has read the row (payload "old"); just before its claim lands, another enqueue replaces the job.
    let replace: Awaited<ReturnType<typeof debounce>>[number] | undefined;
    const d1 = beforeClaim(async () => {
      [replace] = await debounce(tenant, queue, [echo("new", "race", 1)], t0 + 900);
    });
    const answers = await deliver(sent.slice(0, 1), t0 + 1_000, queue, d1);
    expect(replace).toMatchObject({ debounced: true, row: { id: jobId } });
    expect(runsOf(jobId)).toEqual([]);
    expect(answers.get("m0")?.kind).toBe("ack");
    const waited = sent.slice(1);
    expect(waited.map((m) => m.body.id)).toEqual([jobId]);

    // The delivery comes back: the job runs once, with the payload of the replace.
    await deliver(waited, t0 + 12_000, queue);
    await deliver(sent.slice(0, 2), t0 + 13_000, queue);
    expect(runsOf(jobId)).toEqual([{ jobId, value: "new" }]);
    expect(JSON.parse((await stored(tenant, jobId)).result ?? "null")).toEqual({ echoed: "new" });
  });

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
