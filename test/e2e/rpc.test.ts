import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDev, waitForJob } from "./harness";

type Job = { id: string; type: string; status: string; payload: unknown; result: unknown; metadata: object };
type Refusal = { code: string; message: string; issues: { path: string }[] };
type Answer<T> = ({ ok: true } & T) | { ok: false; error: Refusal };

/** The caller Worker's tenant, fixed by the props of its service binding (test/e2e/rpc-caller/wrangler.toml). */
const CALLER_TENANT = "rpc-caller";

describe("JobsRpc from a second Worker in the same wrangler dev session", () => {
  let dev: DevServer;
  let key: string;
  let otherKey: string;

  /** Calls env.JOBS.<method>(...args) inside the caller Worker and answers what crossed the boundary. */
  async function rpc<T = object>(method: string, ...args: unknown[]): Promise<Answer<T>> {
    const res = await dev.call<Answer<T>>("POST", `/rpc/${method}`, { body: args });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  /** The value of an accepted call; fails the test with the refusal otherwise. */
  async function accepted<T>(method: string, ...args: unknown[]): Promise<T> {
    const answer = await rpc<T>(method, ...args);
    if (!answer.ok) throw new Error(`${method} was refused: ${JSON.stringify(answer.error)}`);
    return answer;
  }

  /** The refusal of a call that must be refused. */
  async function refused(method: string, ...args: unknown[]): Promise<Refusal> {
    const answer = await rpc(method, ...args);
    if (answer.ok) throw new Error(`${method} was expected to be refused`);
    return answer.error;
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
    const { job } = await accepted<{ job: Job }>("enqueue", {
      type: "send-order-confirmation",
      payload: { orderId: "o-rpc-1", userId: "u-1" },
      metadata: { orderId: "o-rpc-1" },
    });
    expect(job).toMatchObject({ type: "send-order-confirmation", status: "queued", metadata: { orderId: "o-rpc-1" } });
    const done = await waitForJob<Job>(dev, key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.payload).toEqual({ orderId: "o-rpc-1", userId: "u-1" });
    // Another tenant's key cannot see it: the binding's props decided the tenant.
    expect((await dev.call("GET", `/v1/jobs/${job.id}`, { token: otherKey })).status).toBe(404);
    const viaRpc = await accepted<{ job: Job }>("get", job.id);
    expect(viaRpc.job).toMatchObject({ id: job.id, status: "succeeded" });
  });

  it("answers refusals with the contract's codes and issues across the Worker boundary, writing nothing", async () => {
    const before = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: key });
    const invalid = await refused("enqueue", { type: "send-order-confirmation", payload: { orderId: 7 } });
    expect(invalid.code).toBe("invalid_request");
    expect(invalid.issues.map((i) => i.path)).toEqual(["payload.orderId"]);
    expect((await refused("enqueue", { type: "no-such-type" })).code).toBe("unknown_job_type");
    expect((await refused("get", "job_01J00000000000000000000000")).code).toBe("not_found");
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
    const first = await accepted<{ jobs: Job[] }>("enqueueBatch", items);
    const again = await accepted<{ jobs: Job[] }>("enqueueBatch", items);
    expect(again.jobs.map((j) => j.id)).toEqual(first.jobs.map((j) => j.id));
    const delayed = first.jobs[0]?.id ?? "";
    expect((await accepted<{ job: Job }>("cancel", delayed)).job.status).toBe("cancelled");
    expect((await refused("cancel", delayed)).code).toBe("conflict");
    const viaHttp = await dev.call<Job>("GET", `/v1/jobs/${delayed}`, { token: key });
    expect(viaHttp.body.status).toBe("cancelled");
    expect((await accepted<{ job: Job }>("retry", delayed)).job.status).toBe("queued");
    const done = await waitForJob<Job>(dev, key, delayed, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
  });
});
