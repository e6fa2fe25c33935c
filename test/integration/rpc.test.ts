import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createJobsClient, JobsApiError } from "../../src/client";
import { call, newTenant, waitForStatus } from "../fixtures/api";

/** The entrypoint as a caller's service binding sees it, with the tenant in the binding's props. */
const rpcFor = (tenant: string) => exports.JobsRpc({ props: { tenant } });

type Refusal = { code: string; message: string; issues: { path: string; message: string }[] };

/** What a refused call threw, as the caller receives it over RPC. */
async function refusal(pending: Promise<unknown>): Promise<Refusal> {
  try {
    await pending;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Refusal;
  }
  throw new Error("the call was expected to be refused");
}

async function jobCount(key: string): Promise<number> {
  const res = await call<{ data: unknown[] }>("GET", "/v1/jobs?limit=100", { token: key });
  return res.body.data.length;
}

describe("JobsRpc: the job API over a service binding", () => {
  it("enqueues for the binding's tenant; the job runs and reads the same over HTTP", async () => {
    const { tenant, key } = await newTenant("rpc");
    const job = await rpcFor(tenant).enqueue({
      type: "test-echo",
      payload: { value: "via rpc" },
      metadata: { orderId: "o-9" },
    });
    expect(job).toMatchObject({ type: "test-echo", status: "queued", attempts: 0, metadata: { orderId: "o-9" } });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done.status).toBe("succeeded");
    expect(done.result).toEqual({ echoed: "via rpc" });
    const viaRpc = await rpcFor(tenant).get(job.id);
    const { attemptLog, ...viaHttp } = done;
    expect(viaRpc).toEqual({ ...viaHttp, attemptLog });
  });

  it("refuses bad input with the HTTP contract's codes and issues, writing nothing", async () => {
    const { tenant, key } = await newTenant("rpc");
    const rpc = rpcFor(tenant);
    const unknownType = await refusal(rpc.enqueue({ type: "no-such-type" }));
    expect(unknownType.code).toBe("unknown_job_type");
    const badPayload = await refusal(rpc.enqueue({ type: "send-order-confirmation", payload: { orderId: 5 } }));
    expect(badPayload.code).toBe("invalid_request");
    expect(badPayload.issues.map((i) => i.path)).toEqual(["payload.orderId"]);
    const badOptions = await refusal(rpc.enqueue({ type: "test-echo", maxAttempts: 0 }));
    expect(badOptions.code).toBe("invalid_request");
    expect(badOptions.issues.map((i) => i.path)).toEqual(["maxAttempts"]);
    // One bad item refuses the whole batch.
    const batch = await refusal(rpc.enqueueBatch([{ type: "test-echo" }, { type: "test-flaky", payload: {} }]));
    expect(batch.code).toBe("invalid_request");
    expect(batch.issues[0]?.path).toBe("jobs.1.payload.failTimes");
    const tooLarge = await refusal(rpc.enqueue({ type: "test-echo", payload: { value: "x".repeat(300_000) } }));
    expect(tooLarge.code).toBe("payload_too_large");
    expect(await jobCount(key)).toBe(0);
  });

  it("answers the original job for a repeated idempotency key and refuses a reuse with another payload", async () => {
    const { tenant } = await newTenant("rpc");
    const rpc = rpcFor(tenant);
    const first = await rpc.enqueue({ type: "test-echo", payload: { value: 1 }, idempotencyKey: "order-1" });
    const again = await rpc.enqueue({ type: "test-echo", payload: { value: 1 }, idempotencyKey: "order-1" });
    expect(again.id).toBe(first.id);
    const conflict = await refusal(
      rpc.enqueue({ type: "test-echo", payload: { value: 2 }, idempotencyKey: "order-1" }),
    );
    expect(conflict.code).toBe("idempotency_conflict");
    expect((await rpc.list()).data.map((j) => j.id)).toEqual([first.id]);
  });

  it("keeps tenants apart: another tenant's job is not_found, a binding without a tenant is forbidden", async () => {
    const a = await newTenant("rpc");
    const b = await newTenant("rpc");
    const job = await rpcFor(a.tenant).enqueue({ type: "test-echo" });
    expect((await refusal(rpcFor(b.tenant).get(job.id))).code).toBe("not_found");
    expect((await refusal(rpcFor(b.tenant).cancel(job.id))).code).toBe("not_found");
    expect((await rpcFor(b.tenant).list()).data).toEqual([]);
    const anonymous = exports.JobsRpc({ props: {} as { tenant: string } });
    expect((await refusal(anonymous.enqueue({ type: "test-echo" }))).code).toBe("forbidden");
    const malformed = rpcFor("Not A Tenant!");
    expect((await refusal(malformed.list())).code).toBe("forbidden");
  });

  it("enqueues a batch, pages through it, cancels, and retries a cancelled job to succeeded", async () => {
    const { tenant, key } = await newTenant("rpc");
    const rpc = rpcFor(tenant);
    const jobs = await rpc.enqueueBatch(
      Array.from({ length: 5 }, (_, i) => ({ type: "test-echo", payload: { value: i }, delaySeconds: 3600 })),
    );
    expect(jobs.map((j) => j.status)).toEqual(Array(5).fill("queued"));

    const first = await rpc.list({ limit: 2 });
    expect(first.data).toHaveLength(2);
    const second = await rpc.list({ limit: 2, cursor: first.nextCursor ?? undefined });
    const third = await rpc.list({ limit: 2, cursor: second.nextCursor ?? undefined });
    expect(third.nextCursor).toBeNull();
    const paged = [...first.data, ...second.data, ...third.data].map((j) => j.id);
    // Newest first is id order; ids minted in the same millisecond are not in batch order.
    expect(paged).toEqual(
      jobs
        .map((j) => j.id)
        .sort()
        .reverse(),
    );

    const target = jobs[0]?.id ?? "";
    expect((await rpc.cancel(target)).status).toBe("cancelled");
    expect((await refusal(rpc.cancel(target))).code).toBe("conflict");
    const retried = await rpc.retry(target);
    expect(retried).toMatchObject({ status: "queued", attempts: 0 });
    const done = await waitForStatus(key, target, ["succeeded", "dead"]);
    expect(done.result).toEqual({ echoed: 0 });
    expect((await refusal(rpc.retry(target))).code).toBe("conflict");
    expect((await refusal(rpc.list({ limit: 500 }))).code).toBe("invalid_request");
  });
});

describe("the typed HTTP client inside workerd", () => {
  it("enqueues and reads through a Worker's fetch, and throws JobsApiError with the contract's code", async () => {
    const { key } = await newTenant("client");
    // A Worker hands the client any fetch; here it is the Worker under test's own, as a service binding's would be.
    const client = createJobsClient({
      baseUrl: "http://edge-jobs.test",
      apiKey: key,
      fetch: (request) => exports.default.fetch(request),
    });
    const job = await client.enqueue({ type: "test-echo", payload: { value: "from a worker" } });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect((await client.get(job.id)).result).toEqual(done.result);
    const refused = await client.enqueue({ type: "no-such-type" }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JobsApiError);
    expect(refused).toMatchObject({ code: "unknown_job_type", status: 422 });
  });
});
