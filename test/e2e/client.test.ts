import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TYPES_FILE, typesFor } from "../../scripts/gen-client-types";
import { createJobsClient, type JobDetail, type JobsApiError, type JobsClient } from "../../src/client";
import { type DevServer, startDev } from "./harness";
import { startLocalServer } from "./local-server";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;

/** What a refused call threw; fails the test when the call was not refused. */
async function refusal(pending: Promise<unknown>): Promise<JobsApiError> {
  try {
    await pending;
  } catch (err) {
    expect((err as Error).name).toBe("JobsApiError");
    return err as JobsApiError;
  }
  throw new Error("the call was expected to be refused");
}

/** Polls through the client itself until the job has finished. */
async function settled(client: JobsClient, id: string): Promise<JobDetail> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await client.get(id);
    if (["succeeded", "dead", "cancelled"].includes(job.status) || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the typed client against a real wrangler dev", () => {
  let dev: DevServer;
  let target: Awaited<ReturnType<typeof startLocalServer>>;
  let client: JobsClient;
  /** Every request the client sent, as "METHOD path?query". */
  const sent: string[] = [];

  beforeAll(async () => {
    target = await startLocalServer((_req, res) => {
      res.statusCode = 400; // an `http` job aimed here goes dead at once
      res.end("no");
    });
    dev = await startDev();
    client = createJobsClient({
      baseUrl: `${dev.url}/`,
      apiKey: await dev.newKey("client"),
      fetch: (request) => {
        const url = new URL(request.url);
        sent.push(`${request.method} ${url.pathname}${url.search}`);
        return fetch(request);
      },
    });
  });

  afterAll(async () => {
    await dev?.stop();
    await target?.close();
  });

  it("has types generated from exactly the live /openapi.json", async () => {
    const live = (await (await fetch(`${dev.url}/openapi.json`)).json()) as Record<string, unknown>;
    expect(await typesFor(live)).toBe(readFileSync(join(ROOT, TYPES_FILE), "utf8"));
  });

  it("has a drift check (npm run check:client) that fails when the types differ from the app's document", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-jobs-drift-"));
    try {
      const copy = join(dir, "openapi-types.ts");
      const committed = readFileSync(join(ROOT, TYPES_FILE), "utf8");
      writeFileSync(copy, committed.replace("nextCursor: string | null;", "nextCursor: string;"));
      const script = join(ROOT, "scripts/gen-client-types.ts");
      const drifted = await run(join(ROOT, "node_modules/.bin/tsx"), [script, "--check", "--file", copy], {
        cwd: ROOT,
      }).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(drifted?.code).toBe(1);
      expect(drifted?.stderr).toContain("does not match the app's OpenAPI document");
      expect(drifted?.stderr).toMatch(/committed: +nextCursor: string;\n +generated: +nextCursor: string \| null;/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("enqueues, reads, cancels, retries and deletes jobs", async () => {
    const job = await client.enqueue({ type: "send-order-confirmation", payload: { orderId: "c-1" } });
    expect(job).toMatchObject({ type: "send-order-confirmation", status: "queued", payload: { orderId: "c-1" } });
    const detail = await settled(client, job.id);
    expect(detail).toMatchObject({ id: job.id, status: "succeeded", attempts: 1, attemptLog: [] });

    const [later, other] = await client.enqueueBatch([
      { type: "sync-order-side-effects", payload: { orderId: "c-2" }, delaySeconds: 3600 },
      { type: "sync-order-side-effects", payload: { orderId: "c-3" }, delaySeconds: 3600 },
    ]);
    expect((await client.cancel(later?.id ?? "")).status).toBe("cancelled");
    const twice = await refusal(client.cancel(later?.id ?? ""));
    expect([twice.code, twice.status]).toEqual(["conflict", 409]);
    expect((await client.retry(later?.id ?? "")).status).toBe("queued");
    expect((await refusal(client.retry(other?.id ?? ""))).code).toBe("conflict");

    await client.delete(job.id);
    const gone = await refusal(client.get(job.id));
    expect([gone.code, gone.status]).toEqual(["not_found", 404]);
  });

  it("runs a workflow: the job parks for its event, sendEvent wakes it, get lists its steps", async () => {
    const job = await client.enqueue({ type: "fulfill-order", payload: { orderId: "c-wf", followUpDelaySeconds: 1 } });
    expect(job).toMatchObject({ queue: "default", batchId: null, parentId: null, waitingFor: null });
    let parked = await client.get(job.id);
    for (const deadline = Date.now() + 30_000; parked.status !== "waiting" && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 200));
      parked = await client.get(job.id);
    }
    // Typed: waitingFor narrows by kind, steps carry their kind and status.
    const waitingFor = parked.waitingFor;
    expect(waitingFor?.kind).toBe("event");
    if (waitingFor?.kind === "event") expect([waitingFor.event, waitingFor.key]).toEqual(["payment.captured", "c-wf"]);
    expect(parked.steps.map((s) => `${s.name}:${s.kind}:${s.status}`)).toEqual([
      "reserve-stock:run:succeeded",
      "payment:event:waiting",
    ]);
    const sentEvent = await client.sendEvent({ name: "payment.captured", key: "c-wf", data: { amountCents: 1 } });
    expect(sentEvent).toMatchObject({ id: expect.stringMatching(/^evt_/), matched: 1, more: false });
    const done = await settled(client, job.id);
    expect(done.status).toBe("succeeded");
    expect(done.steps.map((s) => s.name)).toEqual([
      "reserve-stock",
      "payment",
      "notify-warehouse",
      "follow-up",
      "send-follow-up",
    ]);
    expect(done.steps.find((s) => s.name === "payment")?.result).toEqual({ amountCents: 1 });
    const bad = await refusal(client.sendEvent({ name: "" }));
    expect([bad.code, bad.status, bad.issues?.[0]?.path]).toEqual(["invalid_request", 400, "name"]);
  });

  it("sends the idempotency key as the header: a repeat answers the original job, a changed payload conflicts", async () => {
    const body = { type: "sync-order-side-effects", payload: { orderId: "c-9" }, delaySeconds: 3600 };
    const first = await client.enqueue(body, { idempotencyKey: "order-c-9" });
    const again = await client.enqueue(body, { idempotencyKey: "order-c-9" });
    expect(again.id).toBe(first.id);
    expect(again.idempotencyKey).toBe("order-c-9");
    const conflict = await refusal(
      client.enqueue({ ...body, payload: { orderId: "c-10" } }, { idempotencyKey: "order-c-9" }),
    );
    expect([conflict.code, conflict.status]).toEqual(["idempotency_conflict", 409]);
  });

  it("pages through 250 jobs with the async iterator, 100 per request, newest first", async () => {
    const pager = createJobsClient({
      baseUrl: dev.url,
      apiKey: await dev.newKey("pager"),
      fetch: (request) => {
        const url = new URL(request.url);
        sent.push(`${request.method} ${url.pathname}${url.search}`);
        return fetch(request);
      },
    });
    const ids: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const count = batch < 2 ? 100 : 50;
      const jobs = await pager.enqueueBatch(
        Array.from({ length: count }, (_, i) => ({
          type: "sync-order-side-effects",
          payload: { orderId: `p-${batch}-${i}` },
          delaySeconds: 3600,
        })),
      );
      ids.push(...jobs.map((j) => j.id));
    }
    const before = sent.length;
    const listed: string[] = [];
    for await (const job of pager.list({ limit: 100, type: "sync-order-side-effects" })) listed.push(job.id);
    expect(listed).toHaveLength(250);
    expect(listed).toEqual([...ids].sort().reverse());
    const pages = sent.slice(before);
    expect(pages).toHaveLength(3);
    expect(pages[0]).toBe("GET /v1/jobs?limit=100&type=sync-order-side-effects");
    expect(pages[1]).toBe(`GET /v1/jobs?limit=100&type=sync-order-side-effects&cursor=${listed[99]}`);

    const firstPage = await pager.listPage({ limit: 10 });
    expect(firstPage.data.map((j) => j.id)).toEqual(listed.slice(0, 10));
    expect(firstPage.nextCursor).toBe(listed[9]);
  });

  it("lists and replays dead jobs", async () => {
    const doomed = await client.enqueue({ type: "http", payload: { url: `${target.url}/hook` } });
    expect((await settled(client, doomed.id)).status).toBe("dead");
    const dead: string[] = [];
    for await (const job of client.dead.list({ type: "http" })) dead.push(job.id);
    expect(dead).toEqual([doomed.id]);
    expect(await client.dead.retry({ ids: [doomed.id] })).toEqual({ retried: 1 });
  });

  it("manages schedules", async () => {
    const schedule = await client.schedules.create({
      name: "nightly-cleanup",
      cron: "0 3 * * *",
      timezone: "Europe/Berlin",
      type: "cleanup-expired-sessions",
    });
    expect(schedule).toMatchObject({ name: "nightly-cleanup", enabled: true, timezone: "Europe/Berlin" });
    expect(await client.schedules.get(schedule.id)).toEqual(schedule);
    const all: string[] = [];
    for await (const s of client.schedules.list()) all.push(s.name);
    expect(all).toEqual(["nightly-cleanup"]);
    expect((await client.schedules.update(schedule.id, { enabled: false })).enabled).toBe(false);
    const fired = await client.schedules.run(schedule.id);
    expect(fired.type).toBe("cleanup-expired-sessions");
    await client.schedules.delete(schedule.id);
    expect((await refusal(client.schedules.get(schedule.id))).code).toBe("not_found");
    const badCron = await refusal(
      client.schedules.create({ name: "x", cron: "every day", type: "cleanup-expired-sessions" }),
    );
    expect(badCron.code).toBe("invalid_request");
    expect(badCron.issues.map((i) => i.path)).toContain("cron");
  });

  it("reads flows, metrics and the webhook secret, and rotates the secret", async () => {
    // The flow's KeyGate learns its settings when the consumer admits a job that names it.
    const flowing = await client.enqueue({
      type: "sync-order-side-effects",
      payload: { orderId: "f-1" },
      flow: { key: "warehouse", concurrency: 2 },
    });
    expect((await settled(client, flowing.id)).status).toBe("succeeded");
    expect(await client.flow("warehouse")).toMatchObject({ key: "warehouse", concurrency: 2 });
    const metrics = await client.metrics();
    expect(typeof metrics.depth).toBe("number");
    expect(metrics.durationMs).toHaveProperty("p95");
    const secret = await client.webhookSecret.get();
    expect(secret.secret).toMatch(/^whsec_/);
    const rotated = await client.webhookSecret.rotate();
    expect(rotated.previousSecret).toBe(secret.secret);
    expect(rotated.secret).not.toBe(secret.secret);
  });

  it("runs in a real browser (Chromium), bundled for the browser with nothing but fetch", async () => {
    const bundle = await build({
      entryPoints: [join(ROOT, "src/client/index.ts")],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "EdgeJobs",
      write: false,
      logLevel: "silent",
    });
    const profile = mkdtempSync(join(tmpdir(), "edge-jobs-client-chromium-"));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      // A page of Edge Jobs' own origin, so the browser's fetch needs no CORS.
      await page.goto(`${dev.url}/healthz`);
      await page.addScriptTag({ content: bundle.outputFiles[0]?.text ?? "" });
      const apiKey = await dev.newKey("browser");
      const outcome = await page.evaluate(
        async ({ baseUrl, apiKey }) => {
          const { createJobsClient } = (globalThis as unknown as { EdgeJobs: typeof import("../../src/client") })
            .EdgeJobs;
          const jobs = createJobsClient({ baseUrl, apiKey });
          const job = await jobs.enqueue({ type: "sync-order-side-effects", payload: { orderId: "b-1" } });
          const listed: string[] = [];
          for await (const j of jobs.list()) listed.push(j.id);
          const refusal = await jobs.enqueue({ type: "no-such-type" }).then(
            () => null,
            (err: { name: string; code: string }) => ({ name: err.name, code: err.code }),
          );
          return { id: job.id, listed, refusal };
        },
        { baseUrl: dev.url, apiKey },
      );
      expect(outcome.listed).toEqual([outcome.id]);
      expect(outcome.refusal).toEqual({ name: "JobsApiError", code: "unknown_job_type" });
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it("throws JobsApiError with the contract's code, status and issues", async () => {
    const unknownType = await refusal(client.enqueue({ type: "no-such-type" }));
    expect([unknownType.code, unknownType.status]).toEqual(["unknown_job_type", 422]);
    expect(unknownType.requestId).toBeTruthy();
    const invalid = await refusal(client.enqueue({ type: "send-order-confirmation", payload: { orderId: 1 } }));
    expect([invalid.code, invalid.status]).toEqual(["invalid_request", 400]);
    expect(invalid.issues.map((i) => i.path)).toEqual(["payload.orderId"]);
    const tooLarge = await refusal(
      client.enqueue({ type: "send-order-confirmation", payload: { orderId: "x".repeat(300_000) } }),
    );
    expect([tooLarge.code, tooLarge.status]).toEqual(["payload_too_large", 413]);
    const stranger = createJobsClient({ baseUrl: dev.url, apiKey: "not-a-key" });
    const unauthorized = await refusal(stranger.metrics());
    expect([unauthorized.code, unauthorized.status]).toEqual(["unauthorized", 401]);
  });
});
