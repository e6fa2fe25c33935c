// Review finding 3 (#16): a batch enqueue mixing plain and debounced items is all or nothing when a debounce gate fails:
// no plain row is left committed, no message goes, the keys are free again, and the client gets the contract's error.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/contract/errors";
import { log as rootLog } from "../../src/core/logger";
import { openDb } from "../../src/db/client";
import type { GateNamespace } from "../../src/gate/gate-client";
import { toApiError } from "../../src/http/errors";
import { type DebouncedInput, enqueueWithDebounce } from "../../src/service/debounce";
import { enqueue } from "../../src/service/enqueue";
import { enqueueContextOf } from "../../src/service/enqueue-context";
import { capturingQueue } from "../fixtures/engine-doubles";
import { echo, newTenantName, registry } from "./debounce-harness";

const jobIdsOf = async (tenant: string) =>
  (
    await env.DB.prepare("SELECT id FROM jobs WHERE tenant_id = ? ORDER BY id").bind(tenant).all<{ id: string }>()
  ).results.map((r) => r.id);

/** The real KeyGate namespace, except that the debounce gate of `brokenKey` is down. */
function gatesWithBrokenKey(brokenKey: string): GateNamespace {
  const names = new Map<string, string>();
  const real = env.KEY_GATE;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "idFromName")
        return (name: string) => {
          const id = target.idFromName(name);
          names.set(id.toString(), name);
          return id;
        };
      if (prop === "get")
        return (id: DurableObjectId) => {
          if (names.get(id.toString())?.endsWith(`:${brokenKey}`))
            return { debounce: () => Promise.reject(new Error("injected: the debounce gate is down")) };
          return target.get(id);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function run(tenant: string, queue: Queue, items: DebouncedInput[], gates?: GateNamespace) {
  const ctx = enqueueContextOf(env, { db: openDb(env.DB), registry, tenant, log: rootLog, queue, now: Date.now() });
  return enqueueWithDebounce(items, gates ? { ...ctx, gates } : ctx, enqueue);
}

describe("a mixed batch when a debounce gate fails (review finding 3)", () => {
  it("commits nothing and sends nothing; the contract's error; a retry then makes every job once", async () => {
    const tenant = newTenantName("debatomic");
    const { queue, sent } = capturingQueue();
    const items: DebouncedInput[] = [
      { type: "test-echo", payload: { value: "plain" } },
      { type: "test-echo", payload: { value: "keyed" }, idempotencyKey: "idem-atomic" },
      echo("ok", "fine"),
      echo("down", "broken"),
    ];
    const error = await run(tenant, queue, items, gatesWithBrokenKey("broken")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(await jobIdsOf(tenant)).toEqual([]);
    expect(sent).toEqual([]);
    expect(error).toBeInstanceOf(ApiError);
    const api = toApiError(error);
    expect([api.code, api.status]).toEqual(["internal", 500]);
    expect(api.message).toMatch(/nothing from this request was enqueued/);

    // The idempotency key was released: another request with it (another payload) is not refused as a conflict.
    const [other] = await run(tenant, queue, [
      { type: "test-echo", payload: { value: "other" }, idempotencyKey: "idem-atomic" },
    ]);
    expect(other?.replayed).toBe(false);

    // With the gate back, the same request lands whole.
    const answers = await run(tenant, queue, items.slice(0, 1).concat(items.slice(2)));
    expect(answers).toHaveLength(3);
    expect((await jobIdsOf(tenant)).sort()).toEqual([other?.row.id, ...answers.map((a) => a.row.id)].sort());
  });
});
