// Job metadata cannot forge log fields: reserved keys are refused on every enqueue path, and an old row's cannot leak into a line.
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SYSTEM_LOG_FIELDS } from "../../src/core/logger";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";

type ErrorBody = { error: { code: string; message: string; issues?: { path: string; message: string }[] } };
type Refusal = { ok: false; error: { code: string; issues: { path: string }[] } };

const FORGED = { tenant: "victim", level: "error", status: "succeeded", jobId: "job_forged", attempt: "7" };

async function jobCount(tenant: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?")
    .bind(tenant)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

afterEach(() => vi.restoreAllMocks());

describe("metadata keys named like system log fields are refused", () => {
  it("POST /v1/jobs: 400 with issues[].path = metadata.<key>, for every reserved name, nothing written", async () => {
    const { tenant, key } = await newTenant("logs");
    for (const name of SYSTEM_LOG_FIELDS) {
      const res = await call<ErrorBody>("POST", "/v1/jobs", {
        token: key,
        body: { type: "test-echo", metadata: { orderId: "o-1", [name]: "x" } },
      });
      expect(res.status, name).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(res.body.error.issues?.map((i) => i.path)).toEqual([`metadata.${name}`]);
    }
    expect(await jobCount(tenant)).toBe(0);
    // Ordinary correlation fields still pass.
    const ok = await enqueue(key, { type: "test-echo", metadata: { orderId: "o-1", userId: "u-1" } });
    expect(ok.metadata).toEqual({ orderId: "o-1", userId: "u-1" });
  });

  it("POST /v1/jobs/batch refuses the whole batch, naming the item", async () => {
    const { tenant, key } = await newTenant("logs");
    const res = await call<ErrorBody>("POST", "/v1/jobs/batch", {
      token: key,
      body: { jobs: [{ type: "test-echo" }, { type: "test-echo", metadata: FORGED }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.map((i) => i.path).sort()).toEqual(
      Object.keys(FORGED)
        .map((k) => `jobs.1.metadata.${k}`)
        .sort(),
    );
    expect(await jobCount(tenant)).toBe(0);
  });

  it("a schedule's jobOptions.metadata is refused the same way", async () => {
    const { key } = await newTenant("logs");
    const res = await call<ErrorBody>("POST", "/v1/schedules", {
      token: key,
      body: { name: "forged", cron: "0 3 * * *", type: "test-echo", jobOptions: { metadata: { tenant: "victim" } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.map((i) => i.path)).toEqual(["jobOptions.metadata.tenant"]);
  });

  it("JobsRpc enqueue and enqueueBatch refuse them too", async () => {
    const { tenant } = await newTenant("logs");
    const rpc = exports.JobsRpc({ props: { tenant } });
    const one = (await rpc.enqueue({ type: "test-echo", metadata: { level: "error" } })) as unknown as Refusal;
    expect(one.ok).toBe(false);
    expect(one.error.code).toBe("invalid_request");
    expect(one.error.issues.map((i) => i.path)).toEqual(["metadata.level"]);
    const many = (await rpc.enqueueBatch([
      { type: "test-echo", metadata: { tenant: "victim" } },
    ])) as unknown as Refusal;
    expect(many.ok).toBe(false);
    expect(many.error.issues.map((i) => i.path)).toEqual(["jobs.0.metadata.tenant"]);
    expect(await jobCount(tenant)).toBe(0);
  });
});

describe("an old row's forged metadata never reaches a log line as a system field", () => {
  it("the consumer's lines keep the real tenant, job id, level and status", async () => {
    const { tenant, key } = await newTenant("logs");
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600, metadata: { orderId: "o-7" } });
    expect((await call("POST", `/v1/jobs/${job.id}/cancel`, { token: key })).status).toBe(200);
    // A row written before the enqueue schema refused reserved keys.
    await env.DB.prepare("UPDATE jobs SET metadata = ? WHERE tenant_id = ? AND id = ?")
      .bind(JSON.stringify({ orderId: "o-7", ...FORGED }), tenant, job.id)
      .run();

    const lines: Record<string, unknown>[] = [];
    const keep = (text: unknown) => {
      if (typeof text !== "string" || !text.includes("o-7")) return;
      lines.push(JSON.parse(text) as Record<string, unknown>);
    };
    vi.spyOn(console, "log").mockImplementation(keep);
    vi.spyOn(console, "error").mockImplementation(keep);
    expect((await call("POST", `/v1/jobs/${job.id}/retry`, { token: key })).status).toBe(200);
    await waitForStatus(key, job.id, ["succeeded"]);

    const started = lines.find((line) => line.msg === "job started");
    expect(started, JSON.stringify(lines)).toBeDefined();
    for (const line of lines) {
      expect(line).toMatchObject({ tenant, jobId: job.id, orderId: "o-7", "metadata.tenant": "victim" });
    }
    expect(started).toMatchObject({ level: "info", status: "running", attempt: 1 });
  });
});
