// Review finding 2 (#16): a KeyGate that fails between its D1 write and its own window save (the save throws, the
// object dies, D1's answer is lost after the row landed) must not let the next arrival, or a retry, open a second job.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { debounceGate } from "../../src/gate/gate-client";
import { capturingQueue } from "../fixtures/engine-doubles";
import { debounce, echo, newTenantName, stored, windowOf } from "./debounce-harness";

type Gate = ReturnType<typeof debounceGate>;
/** The object's own bindings and storage, which the tests swap parts of (both are its protected fields). */
type Inside = { env: Env; ctx: DurableObjectState };

const jobIdsOf = async (tenant: string) =>
  (
    await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ? ORDER BY id").bind(tenant).all<{ id: string }>()
  ).results.map((r) => r.id);

/** D1 whose next `times` batches land and then throw, as when the answer of a committed write is lost. */
function losingAnswers(d1: D1Database, times: number): D1Database {
  let left = times;
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements);
          if (left-- > 0) throw new Error("injected: the batch committed, its answer was lost");
          return results;
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Runs `arrive` with the gate's D1 swapped for `d1`, then gives the gate its own D1 back. */
async function withGateD1<T>(gate: Gate, d1: (real: D1Database) => D1Database, arrive: () => Promise<T>) {
  let original: Env | undefined;
  await runInDurableObject(gate, (instance) => {
    const inside = instance as unknown as Inside;
    original = inside.env;
    const swapped = d1(original.DB);
    inside.env = new Proxy(original, { get: (t, p) => (p === "DB" ? swapped : Reflect.get(t, p)) });
  });
  try {
    return await arrive();
  } finally {
    await runInDurableObject(gate, (instance) => {
      if (original) (instance as unknown as Inside).env = original;
    });
  }
}

/** Runs `arrive` while the gate's KV save of its debounce window throws (`times` times), as when the object dies there. */
async function withFailingSave<T>(gate: Gate, times: number, arrive: () => Promise<T>) {
  let restore = () => {};
  await runInDurableObject(gate, (instance) => {
    const kv = (instance as unknown as Inside).ctx.storage.kv;
    const put = kv.put.bind(kv);
    let left = times;
    kv.put = <T>(key: string, value: T) => {
      if (key === "debounce" && left-- > 0) throw new Error("injected: the window save failed");
      put(key, value);
    };
    restore = () => {
      kv.put = put;
    };
  });
  try {
    return await arrive();
  } finally {
    await runInDurableObject(gate, () => restore());
  }
}

describe("debounce gate crash points (review finding 2)", () => {
  it("the insert landed but its answer was lost: the next arrival replaces that job, no second job", async () => {
    const tenant = newTenantName("deblost");
    const { queue } = capturingQueue();
    const gate = debounceGate(env.KEY_GATE, tenant, "k");
    const lost = await withGateD1(
      gate,
      (real) => losingAnswers(real, 1),
      () => debounce(tenant, queue, [echo("first", "k")]).catch((e: unknown) => e),
    );
    expect(lost).toBeInstanceOf(Error);
    const [landed] = await jobIdsOf(tenant);
    expect(landed).toBeDefined();

    const [next] = await debounce(tenant, queue, [echo("second", "k")]);
    expect(next).toMatchObject({ debounced: true, row: { id: landed } });
    expect(await jobIdsOf(tenant)).toEqual([landed]);
    expect(JSON.parse((await stored(tenant, landed ?? "")).payload)).toEqual({ value: "second" });
    expect((await windowOf(tenant, "k"))?.jobId).toBe(landed);
  });

  it("a retry of the very same arrival after a lost answer finds the job too", async () => {
    const tenant = newTenantName("debretry");
    const { queue } = capturingQueue();
    const gate = debounceGate(env.KEY_GATE, tenant, "k");
    const now = Date.now();
    const item = echo("same", "k");
    await withGateD1(
      gate,
      (real) => losingAnswers(real, 1),
      () => debounce(tenant, queue, [item], now).catch((e: unknown) => e),
    );
    const [retried] = await debounce(tenant, queue, [item], now);
    expect(await jobIdsOf(tenant)).toEqual([retried?.row.id]);
  });

  it("the window save fails (the object dies there): no job is left without its window, no second job", async () => {
    const tenant = newTenantName("debsave");
    const { queue } = capturingQueue();
    const gate = debounceGate(env.KEY_GATE, tenant, "k");
    const failed = await withFailingSave(gate, 1, () =>
      debounce(tenant, queue, [echo("first", "k")]).catch((e: unknown) => e),
    );
    expect(failed).toBeInstanceOf(Error);

    const [next] = await debounce(tenant, queue, [echo("second", "k")]);
    const [again] = await debounce(tenant, queue, [echo("third", "k")]);
    expect(again).toMatchObject({ debounced: true, row: { id: next?.row.id } });
    expect(await jobIdsOf(tenant)).toEqual([next?.row.id]);
  });

  it("a replace whose answer was lost, then a save that fails on the next window: still one job per window", async () => {
    const tenant = newTenantName("debreplace");
    const { queue } = capturingQueue();
    const gate = debounceGate(env.KEY_GATE, tenant, "k");
    const [first] = await debounce(tenant, queue, [echo(1, "k")]);
    await withGateD1(
      gate,
      (real) => losingAnswers(real, 1),
      () => debounce(tenant, queue, [echo(2, "k")]).catch((e: unknown) => e),
    );
    await withFailingSave(gate, 1, () => debounce(tenant, queue, [echo(3, "k")]).catch((e: unknown) => e));
    const [last] = await debounce(tenant, queue, [echo(4, "k")]);
    expect(last).toMatchObject({ debounced: true, row: { id: first?.row.id } });
    expect(await jobIdsOf(tenant)).toEqual([first?.row.id]);
    expect(JSON.parse((await stored(tenant, first?.row.id ?? "")).payload)).toEqual({ value: 4 });
  });
});
