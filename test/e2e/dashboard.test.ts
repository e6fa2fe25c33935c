// The dashboard in real headless Chromium against a real `wrangler dev`: sign in, find a dead job, retry it, see it succeed.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDev, waitForJob } from "./harness";
import { startLocalServer } from "./local-server";

type Job = { id: string; status: string; attempts: number; result: { status: number } | null };

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("../../test-results/", import.meta.url).pathname;

describe("dashboard in headless Chromium", () => {
  let dev: DevServer;
  let target: Awaited<ReturnType<typeof startLocalServer>>;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let key: string;
  let answer = 400;
  const pageProblems: string[] = [];

  async function enqueueHttp(path: string, metadata: Record<string, string> = {}) {
    const res = await dev.call<Job>("POST", "/v1/jobs", {
      token: key,
      body: { type: "http", payload: { url: `${target.url}${path}`, body: { secret: "payload-body" } }, metadata },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body;
  }

  beforeAll(async () => {
    target = await startLocalServer((req, res) => {
      // /flaky answers as the test decides (a 400 sends an http job straight to dead); anything else succeeds.
      res.statusCode = req.path === "/flaky" ? answer : 200;
      res.end(res.statusCode === 200 ? "fine" : "rejected");
    });
    dev = await startDev();
    key = await dev.newKey("dash");
    profile = mkdtempSync(join(tmpdir(), "edge-jobs-chromium-"));
    mkdirSync(ARTIFACTS, { recursive: true });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    // Destructive buttons ask for confirmation; the test says yes.
    page.on("dialog", (dialog) => void dialog.accept());
    // A CSP violation or a script error on any page fails the last test.
    page.on("pageerror", (error) => pageProblems.push(error.message));
    page.on("console", (message) => {
      if (message.text().includes("Content Security Policy")) pageProblems.push(message.text());
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await dev?.stop();
    await target?.close();
  });

  it("signs in with an API key; a Secure, HttpOnly, SameSite=Strict cookie holds a session id, not the key", async () => {
    await page.goto(`${dev.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");

    await page.fill('input[name="key"]', "not-a-key");
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent("body")).toContain("not a tenant API key");

    await page.fill('input[name="key"]', dev.adminToken);
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent("body")).toContain("not a tenant API key");

    await page.fill('input[name="key"]', key);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${dev.url}/dashboard`);
    expect(await page.textContent("header")).toContain("dash");

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "edge_jobs_session");
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: "Strict", path: "/dashboard" });
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session?.value).not.toContain(key.slice(3));
    // The key never reaches the page's own script.
    expect(await page.evaluate<string>("document.cookie")).not.toContain("edge_jobs_session");
  });

  it("finds a dead job, retries it, and sees it succeed", async () => {
    const ok = await Promise.all([enqueueHttp("/ok"), enqueueHttp("/ok")]);
    const dead = await enqueueHttp("/flaky", { orderId: "o-77" });
    for (const job of ok)
      expect((await waitForJob<Job>(dev, key, job.id, ["succeeded", "dead"])).status).toBe("succeeded");
    expect((await waitForJob<Job>(dev, key, dead.id, ["succeeded", "dead"])).status).toBe("dead");

    // The overview counts it.
    await page.goto(`${dev.url}/dashboard`);
    const deadCard = page.locator(".card", { hasText: "Dead" }).locator(".value");
    expect((await deadCard.textContent())?.trim()).toBe("1");
    expect(await page.locator(".chart rect.bar-succeeded").count()).toBeGreaterThan(0);

    // Dead letters: the row is there with its error; retry it once the target is fixed.
    await page.click('nav a:has-text("Dead letters")');
    const row = page.locator(`tr[data-job-id="${dead.id}"]`);
    expect(await row.textContent()).toContain("400");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-dead-letters.png"), fullPage: true });
    answer = 200;
    await row.locator('button:has-text("Retry")').click();
    await page.waitForURL(/\/dashboard\/dead/);
    expect(await page.textContent(".flash")).toContain(`${dead.id} queued again`);

    await waitForJob<Job>(dev, key, dead.id, ["succeeded"]);
    await page.goto(`${dev.url}/dashboard/jobs?status=succeeded`);
    await page.click(`a[href="/dashboard/jobs/${dead.id}"]`);
    expect(await page.textContent("h1 .status")).toBe("succeeded");
    expect(await page.textContent('[data-testid="result"]')).toContain('"status": 200');
    expect(await page.textContent('[data-testid="payload"]')).toContain("/flaky");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-job-succeeded.png"), fullPage: true });

    await page.goto(`${dev.url}/dashboard`);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-overview.png"), fullPage: true });
  });

  it("filters and pages the jobs list", async () => {
    for (let i = 0; i < 26; i++) await enqueueHttp("/ok");
    await page.goto(`${dev.url}/dashboard/jobs`);
    expect(await page.locator("tbody tr").count()).toBe(25);
    await page.click('a[rel="next"]');
    expect(new URL(page.url()).searchParams.get("cursor")).toMatch(/^job_/);
    expect(await page.locator("tbody tr").count()).toBeGreaterThan(0);

    await page.goto(`${dev.url}/dashboard/jobs`);
    await page.selectOption('select[name="status"]', "dead");
    await page.click('form.filters button[type="submit"]');
    expect(new URL(page.url()).searchParams.get("status")).toBe("dead");
    expect(await page.textContent("main")).toContain("No jobs match.");
  });

  it("retries and discards dead letters in bulk", async () => {
    answer = 400;
    const jobs = await Promise.all([enqueueHttp("/flaky"), enqueueHttp("/flaky"), enqueueHttp("/flaky")]);
    for (const job of jobs) await waitForJob<Job>(dev, key, job.id, ["dead"]);

    await page.goto(`${dev.url}/dashboard/dead`);
    expect(await page.locator("tbody tr").count()).toBe(3);
    // Discard two of them...
    for (const job of jobs.slice(0, 2)) await page.check(`input[name="ids"][value="${job.id}"]`);
    await page.click('button:has-text("Discard selected")');
    await page.waitForURL(/\/dashboard\/dead/);
    expect(await page.textContent(".flash")).toContain("2 discarded");
    for (const job of jobs.slice(0, 2))
      expect((await dev.call("GET", `/v1/jobs/${job.id}`, { token: key })).status).toBe(404);

    // ...and retry the rest with select-all.
    answer = 200;
    await page.check("input[data-select-all]");
    await page.click('button:has-text("Retry selected")');
    await page.waitForURL(/\/dashboard\/dead/);
    expect(await page.textContent(".flash")).toContain("1 queued again");
    await waitForJob<Job>(dev, key, jobs[2]?.id as string, ["succeeded"]);
  });

  it("refuses a form post without the session's CSRF token or from another origin", async () => {
    answer = 400;
    const victim = await enqueueHttp("/flaky");
    await waitForJob<Job>(dev, key, victim.id, ["dead"]);
    const session = (await context.cookies()).find((c) => c.name === "edge_jobs_session");
    const cookie = `edge_jobs_session=${session?.value}`;
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${dev.url}/dashboard/dead/discard`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded", ...headers },
        body,
      });
    const csrf = await page.goto(`${dev.url}/dashboard/dead`).then(() => page.inputValue('input[name="_csrf"]'));

    expect((await post({ origin: dev.url }, `ids=${victim.id}`)).status).toBe(403);
    expect((await post({ origin: dev.url }, `ids=${victim.id}&_csrf=${"0".repeat(64)}`)).status).toBe(403);
    expect((await post({ origin: "https://evil.example" }, `ids=${victim.id}&_csrf=${csrf}`)).status).toBe(403);
    expect((await post({ "sec-fetch-site": "cross-site" }, `ids=${victim.id}&_csrf=${csrf}`)).status).toBe(403);
    expect((await dev.call<Job>("GET", `/v1/jobs/${victim.id}`, { token: key })).body.status).toBe("dead");
    // The same request from our own origin with the token goes through.
    expect((await post({ origin: dev.url }, `ids=${victim.id}&_csrf=${csrf}`)).status).toBe(303);
    expect((await dev.call("GET", `/v1/jobs/${victim.id}`, { token: key })).status).toBe(404);
  });

  it("pauses, resumes and runs a schedule", async () => {
    const created = await dev.call<{ id: string }>("POST", "/v1/schedules", {
      token: key,
      body: { name: "nightly-ping", cron: "0 3 * * *", type: "http", payload: { url: `${target.url}/ok` } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const row = page.locator(`tr[data-schedule-id="${created.body.id}"]`);
    const state = async () => (await row.locator("td").nth(3).textContent())?.trim();

    await page.goto(`${dev.url}/dashboard/schedules`);
    expect(await state()).toBe("active");
    await row.locator('button:has-text("Pause")').click();
    await page.waitForURL(/\/dashboard\/schedules/);
    expect(await page.textContent(".flash")).toContain("schedule paused");
    expect(await state()).toBe("paused");
    expect(
      (await dev.call<{ enabled: boolean }>("GET", `/v1/schedules/${created.body.id}`, { token: key })).body.enabled,
    ).toBe(false);

    await row.locator('button:has-text("Resume")').click();
    await page.waitForURL(/\/dashboard\/schedules/);
    expect(await state()).toBe("active");

    const before = await dev.call<{ data: { id: string }[] }>("GET", "/v1/jobs?limit=100", { token: key });
    await row.locator('button:has-text("Run now")').click();
    await page.waitForURL(/\/dashboard\/schedules/);
    expect(await page.textContent(".flash")).toContain("schedule enqueued a run");
    const after = await dev.call<{ data: { id: string }[] }>("GET", "/v1/jobs?limit=100", { token: key });
    const known = new Set(before.body.data.map((j) => j.id));
    expect(after.body.data.filter((j) => !known.has(j.id))).toHaveLength(1);
  });

  it("shows a workflow's step timeline while it waits for its event and once it has succeeded", async () => {
    const enqueueOrder = async (orderId: string) => {
      const res = await dev.call<Job>("POST", "/v1/jobs", {
        token: key,
        body: { type: "fulfill-order", payload: { orderId, followUpDelaySeconds: 1 } },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      return res.body;
    };
    const order = await enqueueOrder("o-dash");
    const other = await enqueueOrder("o-dash-cancel");
    await waitForJob<Job>(dev, key, order.id, ["waiting"]);
    await waitForJob<Job>(dev, key, other.id, ["waiting"]);

    // The overview counts the parked jobs; the list filters by waiting.
    await page.goto(`${dev.url}/dashboard`);
    const waitingLabel = page.locator(".label", { hasText: /^Waiting \(workflows\)$/ });
    const waitingCard = page.locator(".card", { has: waitingLabel }).locator(".value");
    expect((await waitingCard.textContent())?.trim()).toBe("2");
    await page.goto(`${dev.url}/dashboard/jobs`);
    await page.selectOption('select[name="status"]', "waiting");
    await page.click('form.filters button[type="submit"]');
    expect(new URL(page.url()).searchParams.get("status")).toBe("waiting");
    expect(await page.locator("tbody tr").count()).toBe(2);

    // Parked: what it waits for, the finished step and the open wait.
    await page.click(`a[href="/dashboard/jobs/${order.id}"]`);
    expect(await page.textContent("h1 .status")).toBe("waiting");
    const waitingFor = (await page.textContent('[data-testid="waiting-for"]')) ?? "";
    expect(waitingFor).toContain("payment.captured");
    expect(waitingFor).toContain("o-dash");
    const steps = page.locator('[data-testid="steps"] tbody tr');
    expect(await steps.locator("td:nth-child(2)").allTextContents()).toEqual(["reserve-stock", "payment"]);
    expect(await page.locator('tr[data-step="reserve-stock"] .status').textContent()).toBe("succeeded");
    expect(await page.locator('tr[data-step="payment"] .status').textContent()).toBe("waiting");
    expect(await page.locator('tr[data-step="payment"] td:nth-child(3)').textContent()).toBe("event");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-workflow-waiting.png"), fullPage: true });

    // The event wakes it; after the one-second sleep it has all five steps.
    const sent = await dev.call<{ matched: number }>("POST", "/v1/events", {
      token: key,
      body: { name: "payment.captured", key: "o-dash", data: { amountCents: 4200 } },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    await waitForJob<Job>(dev, key, order.id, ["succeeded"]);
    await page.reload();
    expect(await page.textContent("h1 .status")).toBe("succeeded");
    expect(await page.locator('[data-testid="waiting-for"]').count()).toBe(0);
    expect(await steps.locator("td:nth-child(2)").allTextContents()).toEqual([
      "reserve-stock",
      "payment",
      "notify-warehouse",
      "follow-up",
      "send-follow-up",
    ]);
    expect(await steps.locator(".status").allTextContents()).toEqual(Array(5).fill("succeeded"));
    expect(await page.locator('tr[data-step="follow-up"] td:nth-child(3)').textContent()).toBe("sleep");
    expect(await page.locator('tr[data-step="payment"] td:nth-child(8)').textContent()).toContain('"amountCents":4200');
    expect(await page.textContent('[data-testid="result"]')).toContain('"status": "fulfilled"');
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-workflow-succeeded.png"), fullPage: true });

    // A parked workflow can be cancelled from its page.
    await page.goto(`${dev.url}/dashboard/jobs/${other.id}`);
    await page.click('button:has-text("Cancel")');
    await page.waitForURL(`${dev.url}/dashboard/jobs/${other.id}`);
    expect(await page.textContent(".flash")).toContain(`${other.id} cancelled`);
    expect(await page.textContent("h1 .status")).toBe("cancelled");
  });

  it("is usable at phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const pages = ["/dashboard", "/dashboard/jobs", "/dashboard/dead", "/dashboard/schedules"];
    pages.push("/dashboard/batches", "/dashboard/job-types");
    // A workflow's page, with its step timeline.
    const workflows = await dev.call<{ data: Job[] }>("GET", "/v1/jobs?type=fulfill-order&status=succeeded", {
      token: key,
    });
    const workflow = workflows.body.data[0];
    if (workflow) pages.push(`/dashboard/jobs/${workflow.id}`);
    expect(pages).toHaveLength(7);
    for (const path of pages) {
      await page.goto(`${dev.url}${path}`);
      // Wide tables scroll inside their own box; the page itself never scrolls sideways.
      const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    await page.goto(`${dev.url}/dashboard`);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
  });

  it("logs one JSON line per job event with the job's fields and metadata, and never the key or payload", async () => {
    // wrangler dev colours console.error lines; the JSON object is what the Worker wrote.
    const lines = stripVTControlCharacters(dev.output())
      .split("\n")
      .map((line) => line.slice(line.indexOf("{")))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    const events = lines.filter((l) => l.orderId === "o-77").map((l) => l.msg);
    expect(events).toEqual(expect.arrayContaining(["job enqueued", "job started", "job dead", "job succeeded"]));
    const dead = lines.find((l) => l.orderId === "o-77" && l.msg === "job dead");
    expect(dead).toMatchObject({ type: "http", tenant: "dash", attempt: 1, status: "dead" });
    expect(typeof dead?.durationMs).toBe("number");
    const requests = lines.filter((l) => l.msg === "request" && String(l.path).startsWith("/dashboard"));
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((l) => typeof l.requestId === "string")).toBe(true);
    expect(dev.output()).not.toContain(key);
    expect(dev.output()).not.toContain("payload-body");
  });

  it("broke no Content Security Policy rule and threw no script error on any page", () => {
    expect(pageProblems).toEqual([]);
  });

  it("signs out, and the signed-out cookie replayed by hand opens nothing", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${dev.url}/dashboard`);
    const session = (await context.cookies()).find((c) => c.name === "edge_jobs_session");
    expect(session?.value).toBeTruthy();
    await page.click('header button:has-text("Sign out")');
    await page.waitForURL(`${dev.url}/dashboard/login`);
    await page.goto(`${dev.url}/dashboard/dead`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    const replay = await fetch(`${dev.url}/dashboard/dead`, {
      headers: { cookie: `edge_jobs_session=${session?.value}` },
      redirect: "manual",
    });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toBe("/dashboard/login");
  });
});
