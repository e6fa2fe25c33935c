import { env, exports } from "cloudflare:workers";
import { runJob } from "edge-jobs/testing";
import { describe, expect, it } from "vitest";
import type { EnqueueRequest } from "../src/index";
import { greet } from "../src/jobs/greet";

describe("greet, one attempt at a time (edge-jobs/testing)", () => {
  it("succeeds with the greeting built from the Worker's env", async () => {
    const outcome = await runJob(greet, { name: "Ada" }, { env });
    expect(outcome).toMatchObject({ status: "succeeded", result: { message: "Hello, Ada!" }, error: null });
  });

  it("is dead at once when it throws NonRetryableError", async () => {
    const outcome = await runJob(greet, { name: "nobody" }, { env });
    expect(outcome).toMatchObject({ status: "dead", reason: "non_retryable" });
    expect(outcome.error?.message).toBe("nobody cannot be greeted");
  });

  it("refuses a payload its input schema refuses, as the enqueue would", async () => {
    await expect(runJob(greet, { name: "" }, { env })).rejects.toThrow(/payload does not match job type "greet"/);
  });
});

describe("greet through the Worker: HTTP, queue and D1", () => {
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await exports.default.fetch(
      new Request(`http://app.test${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it("runs an enqueued job to succeeded", async () => {
    const created = await call("POST", "/v1/keys", env.ADMIN_TOKEN, { tenant: "test", name: "test" });
    expect(created.status).toBe(201);
    const key = String(created.body.key);
    const body: EnqueueRequest = { type: "greet", payload: { name: "Grace" } };
    const enqueued = await call("POST", "/v1/jobs", key, body);
    expect(enqueued.status).toBe(202);
    let job = enqueued.body;
    for (let i = 0; i < 100 && job.status !== "succeeded" && job.status !== "dead"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await call("GET", `/v1/jobs/${job.id}`, key)).body;
    }
    expect(job).toMatchObject({ status: "succeeded", result: { message: "Hello, Grace!" } });
  });
});
