// The library's public surface as an app uses it: edge-jobs/testing's runJob, and createEdgeJobs().api mounted in a Hono app.
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createEdgeJobs,
  defineJob,
  type EnqueueRequestOf,
  NonRetryableError,
  RetryAfterError,
} from "../../src/edge-jobs";
import { InvalidPayloadError, runJob } from "../../src/testing";

const fixed = { type: "fixed" as const, delaySeconds: 7, jitter: false };

const square = defineJob({
  type: "library-square",
  input: z.object({ n: z.number().int(), fail: z.enum(["no", "retryable", "final", "later"]).default("no") }),
  maxAttempts: 3,
  backoff: fixed,
  run({ n, fail }, ctx) {
    if (fail === "retryable") throw new Error(`cannot square ${n} yet`);
    if (fail === "final") throw new NonRetryableError(`${n} is not squarable`);
    if (fail === "later") throw new RetryAfterError("busy", 120);
    ctx.progress(50);
    return { square: n * n, at: new Date(0), tenant: ctx.tenant, attempt: ctx.attempt, hasDb: "prepare" in ctx.env.DB };
  },
});

const waitsForAbort = defineJob({
  type: "library-wait",
  input: z.object({}),
  timeoutSeconds: 1,
  run: (_input, ctx) =>
    // As fetch(url, {signal}) does: it rejects with the signal's reason.
    new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))),
});

describe("runJob (edge-jobs/testing)", () => {
  it("answers succeeded with the result as the job record stores it (JSON) and the handler's ctx", async () => {
    const outcome = await runJob(square, { n: 4 }, { env, tenant: "t-lib", attempt: 2 });
    expect(outcome).toEqual({
      status: "succeeded",
      result: { square: 16, at: "1970-01-01T00:00:00.000Z", tenant: "t-lib", attempt: 2, hasDb: true },
      error: null,
      attempt: 2,
      progress: 50,
      durationMs: expect.any(Number),
    });
  });

  it("answers failed with the backoff's delay while attempts are left, dead once they are used up", async () => {
    const first = await runJob(square, { n: 2, fail: "retryable" }, { env });
    expect(first).toMatchObject({
      status: "failed",
      retryInSeconds: 7,
      error: { name: "Error", message: "cannot square 2 yet" },
    });
    const last = await runJob(square, { n: 2, fail: "retryable" }, { env, attempt: 3 });
    expect(last).toMatchObject({ status: "dead", reason: "attempts_exhausted" });
    const overridden = await runJob(square, { n: 2, fail: "retryable" }, { env, attempt: 3, maxAttempts: 5 });
    expect(overridden).toMatchObject({ status: "failed" });
  });

  it("answers dead at once for NonRetryableError, and a RetryAfterError's wait when it is longer than the backoff", async () => {
    expect(await runJob(square, { n: 3, fail: "final" }, { env })).toMatchObject({
      status: "dead",
      reason: "non_retryable",
      error: { name: "NonRetryableError", message: "3 is not squarable" },
    });
    expect(await runJob(square, { n: 3, fail: "later" }, { env })).toMatchObject({
      status: "failed",
      retryInSeconds: 120,
    });
  });

  it("times an attempt out at the job's timeoutSeconds and aborts ctx.signal", async () => {
    const outcome = await runJob(waitsForAbort, {}, { env });
    expect(outcome).toMatchObject({ status: "failed", error: { name: "TimeoutError" } });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(900);
  });

  it("throws InvalidPayloadError for a payload the enqueue would refuse, and runs nothing", async () => {
    await expect(runJob(square, { n: 1.5 }, { env })).rejects.toBeInstanceOf(InvalidPayloadError);
  });
});

describe("createEdgeJobs().api mounted in an app's own Hono app", () => {
  const edge = createEdgeJobs<Env>({ jobs: [square] });
  const app = new Hono<{ Bindings: Env }>();
  app.get("/", (c) => c.text("the app's own route"));
  app.route("/jobs", edge.api);

  it("serves the API under the prefix and leaves the app's routes alone", async () => {
    expect(await (await app.request("/", {}, env)).text()).toBe("the app's own route");
    const health = await app.request("/jobs/healthz", {}, env);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const anonymous = await app.request("/jobs/v1/jobs", {}, env);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: "unauthorized" } });
  });

  it("uses the composition's own job types", async () => {
    const created = await app.request(
      "/jobs/v1/keys",
      {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
        body: JSON.stringify({ tenant: "t-library-mount", name: "mount" }),
      },
      env,
    );
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    // test-echo is a type of the Worker under test, not of this composition: the mounted API refuses it.
    const refused = await app.request(
      "/jobs/v1/jobs",
      {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "test-echo", payload: { value: "x" } }),
      },
      env,
    );
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: { code: "unknown_job_type" } });
    expect([...edge.registry.keys()]).toEqual(["library-square"]);
  });

  it("refuses a composition with a job type defined twice", () => {
    expect(() => createEdgeJobs<Env>({ jobs: [square, square] })).toThrow(/defined twice/);
  });
});

describe("EnqueueRequestOf: an enqueue body typed from the app's job definitions", () => {
  const jobs = [square, waitsForAbort];

  it("takes each type's own payload, and `npm run typecheck` refuses another's", async () => {
    const typed: EnqueueRequestOf<typeof jobs> = { type: "library-square", payload: { n: 2 }, maxAttempts: 2 };
    // @ts-expect-error n must be a number for library-square
    const wrongPayload: EnqueueRequestOf<typeof jobs> = { type: "library-square", payload: { n: "2" } };
    // @ts-expect-error no such job type among these definitions
    const unknownType: EnqueueRequestOf<typeof jobs> = { type: "library-nope", payload: {} };
    // The same bodies at run time: the definitions' schemas agree with the types.
    expect(square.input.safeParse(typed.payload).success).toBe(true);
    expect(square.input.safeParse(wrongPayload.payload).success).toBe(false);
    expect(unknownType.type).toBe("library-nope");
  });
});
