import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDev, waitForJob } from "./harness";

type Job = { id: string; type: string; status: string; payload: unknown; result: unknown; metadata: object };
type Thrown = { name: string; message: string; code: string; issues: { path: string }[]; isError: boolean };
type RpcAnswer<T> = { result?: T; thrown?: Thrown };

/** The caller Worker's tenant, fixed by the props of its service binding (test/e2e/rpc-caller/wrangler.toml). */
const CALLER_TENANT = "rpc-caller";

describe("JobsRpc from a second Worker in the same wrangler dev session", () => {
  let dev: DevServer;
  let key: string;
  let otherKey: string;

  /** Calls env.JOBS.<method>(...args) inside the caller Worker. */
  async function rpc<T>(method: string, ...args: unknown[]): Promise<RpcAnswer<T>> {
    const res = await dev.call<RpcAnswer<T>>("POST", `/rpc/${method}`, { body: args });
    expect(res.status).toBe(200);
    return res.body;
  }

  beforeAll(async () => {
    // The caller answers on the port and passes everything but /rpc/* to Edge Jobs' HTTP API.
    dev = await startDev({ config: ["test/e2e/rpc-caller/wrangler.toml", "wrangler.toml"] });
    key = await dev.newKey(CALLER_TENANT);
    otherKey = await dev.newKey("someone-else");
  });

  afterAll(async () => {
    await dev?.stop();
  });

  it("enqueues for the binding's tenant with no HTTP key; the job runs and the tenant's HTTP API sees it", async () => {
    const { result: job, thrown } = await rpc<Job>("enqueue", {
      type: "send-order-confirmation",
      payload: { orderId: "o-rpc-1", userId: "u-1" },
      metadata: { orderId: "o-rpc-1" },
    });
    expect(thrown).toBeUndefined();
    expect(job).toMatchObject({ type: "send-order-confirmation", status: "queued", metadata: { orderId: "o-rpc-1" } });
    const done = await waitForJob<Job>(dev, key, job?.id ?? "", ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.payload).toEqual({ orderId: "o-rpc-1", userId: "u-1" });
    // Another tenant's key cannot see it: the binding's props decided the tenant.
    expect((await dev.call("GET", `/v1/jobs/${job?.id}`, { token: otherKey })).status).toBe(404);
    const viaRpc = await rpc<Job>("get", job?.id);
    expect(viaRpc.result).toMatchObject({ id: job?.id, status: "succeeded" });
  });

  it("carries the contract's error codes and issues across the Worker boundary, writing nothing", async () => {
    const before = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: key });
    const invalid = await rpc("enqueue", { type: "send-order-confirmation", payload: { orderId: 7 } });
    expect(invalid.thrown).toMatchObject({ isError: true, code: "invalid_request" });
    expect(invalid.thrown?.issues.map((i) => i.path)).toEqual(["payload.orderId"]);
    const unknownType = await rpc("enqueue", { type: "no-such-type" });
    expect(unknownType.thrown?.code).toBe("unknown_job_type");
    const missing = await rpc("get", "job_01J00000000000000000000000");
    expect(missing.thrown?.code).toBe("not_found");
    const after = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: key });
    expect(after.body.data.map((j) => j.id)).toEqual(before.body.data.map((j) => j.id));
  });

  it("keeps HTTP's job semantics: idempotent batches, cancel and retry", async () => {
    const items = [
      {
        type: "sync-order-side-effects",
        payload: { orderId: "o-rpc-2" },
        idempotencyKey: "o-rpc-2:sync",
        delaySeconds: 600,
      },
      { type: "send-order-confirmation", payload: { orderId: "o-rpc-2" }, idempotencyKey: "o-rpc-2:confirm" },
    ];
    const first = await rpc<Job[]>("enqueueBatch", items);
    const again = await rpc<Job[]>("enqueueBatch", items);
    expect(again.result?.map((j) => j.id)).toEqual(first.result?.map((j) => j.id));
    const delayed = first.result?.[0]?.id ?? "";
    expect((await rpc<Job>("cancel", delayed)).result?.status).toBe("cancelled");
    expect((await rpc("cancel", delayed)).thrown?.code).toBe("conflict");
    const viaHttp = await dev.call<Job>("GET", `/v1/jobs/${delayed}`, { token: key });
    expect(viaHttp.body.status).toBe("cancelled");
    expect((await rpc<Job>("retry", delayed)).result?.status).toBe("queued");
    const done = await waitForJob<Job>(dev, key, delayed, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
  });
});
