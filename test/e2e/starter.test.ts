// A new user's path, from the tarballs: pack edge-jobs and create-edge-jobs, scaffold an app, install it, run its tests,
// run its `npm run dev` and see a job of the app's own type succeed over HTTP with the printed dev key.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, limitBreaks } from "./harness";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const STARTER = join(ROOT, "packages/create-edge-jobs");
const MINUTE = 60_000;

/** The environment a user's shell would give npm: none of the npm_* variables of the `npm test` running this file. */
const userEnv: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };
for (const name of Object.keys(userEnv)) if (name.toLowerCase().startsWith("npm_")) delete userEnv[name];

async function npm(args: string[], cwd: string, timeout = 4 * MINUTE): Promise<string> {
  try {
    const { stdout, stderr } = await run("npm", args, { cwd, env: userEnv, timeout, maxBuffer: 64 * 1024 * 1024 });
    return stdout + stderr;
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`);
  }
}

/** npm pack prints the build before the file name, so the tarball is found by name in its own folder. */
async function pack(dir: string, into: string): Promise<string> {
  mkdirSync(into, { recursive: true });
  await npm(["pack", "--pack-destination", into], dir);
  const [tarball] = readdirSync(into).filter((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack wrote no tarball for ${dir}`);
  return join(into, tarball);
}

const work = mkdtempSync(join(tmpdir(), "edge-jobs-starter-"));
const app = join(work, "my-app");
const timings: Record<string, number> = {};
let dev: ChildProcess | undefined;
let devOutput = "";

async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[step] = Date.now() - started;
  }
}

describe("the starter, as a new user runs it", () => {
  beforeAll(async () => {
    const library = await timed("pack edge-jobs", () => pack(ROOT, join(work, "library")));
    const starter = await timed("pack create-edge-jobs", () => pack(STARTER, join(work, "starter")));
    // As `npm create edge-jobs@latest my-app` runs it, with the packed library as the app's dependency.
    await timed("scaffold", () =>
      npm(
        ["exec", "--yes", `--package=${starter}`, "--", "create-edge-jobs", "my-app", "--edge-jobs", `file:${library}`],
        work,
      ),
    );
    await timed("install", () => npm(["install", "--prefer-offline", "--no-audit", "--no-fund"], app));
  }, 8 * MINUTE);

  afterAll(async () => {
    if (dev?.pid && dev.exitCode === null) {
      const exited = new Promise((resolve) => dev?.once("exit", resolve));
      process.kill(-dev.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (dev.exitCode === null) process.kill(-dev.pid, "SIGKILL");
    }
    rmSync(work, { recursive: true, force: true });
    console.log(`starter e2e steps (ms): ${JSON.stringify(timings)}`);
  });

  it("ships compiled JS, declarations and migrations, and no sources, tests or benchmarks", () => {
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/edge-jobs/package.json"), "utf8"));
    const shipped = readdirSync(join(app, "node_modules/edge-jobs"), { recursive: true }).map(String);
    expect(shipped).toContain(join("dist", "edge-jobs.js"));
    expect(shipped).toContain(join("dist", "testing", "index.d.ts"));
    expect(shipped.filter((f) => f.startsWith("migrations") && f.endsWith(".sql")).length).toBeGreaterThan(0);
    const outside = shipped.filter(
      (f) => !/^(dist|migrations|bin|node_modules)(\/|$)/.test(f) && f !== "README.md" && f !== "package.json",
    );
    expect(outside).toEqual([]);
    expect(shipped.filter((f) => /\.test\.|(?<!\.d)\.tsx?$/.test(f) && !f.startsWith("node_modules"))).toEqual([]);
    expect(Object.keys(manifest.exports)).toEqual([
      ".",
      "./builtin",
      "./client",
      "./testing",
      "./webhooks",
      "./package.json",
    ]);
  });

  it("loads the client and webhooks subpaths in plain Node too (a receiver or a script, no bundler)", async () => {
    const script =
      'const { verifyWebhook } = await import("edge-jobs/webhooks");' +
      'const { createJobsClient } = await import("edge-jobs/client");' +
      "console.log(typeof verifyWebhook, typeof createJobsClient);";
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: app, env: userEnv });
    expect(stdout.trim()).toBe("function function");
  });

  it(
    "passes the app's own npm test: typecheck against the package's declarations, then its tests in workerd",
    async () => {
      const output = await timed("npm test", () => npm(["test"], app));
      expect(output).toMatch(/Tests\s+4 passed \(4\)/);
    },
    5 * MINUTE,
  );

  it(
    "runs a job of the app's own type to succeeded under npm run dev, with the dev key it prints",
    async () => {
      const started = Date.now();
      const port = await freePort();
      // The dev state of this run stays in the app's folder (.wrangler/, .dev/), which the test removes.
      const child = spawn("npm", ["run", "dev"], {
        cwd: app,
        env: { ...userEnv, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      dev = child;
      child.stdout?.on("data", (chunk) => {
        devOutput += chunk;
      });
      child.stderr?.on("data", (chunk) => {
        devOutput += chunk;
      });
      let key: string | undefined;
      while (!key) {
        if (child.exitCode !== null) throw new Error(`npm run dev exited:\n${devOutput}`);
        if (Date.now() - started > 2 * MINUTE) throw new Error(`npm run dev printed no key:\n${devOutput}`);
        key = /\[edge-jobs\]\S*\s+(ej_\S+)/.exec(devOutput)?.[1];
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(devOutput).toContain(`http://127.0.0.1:${port}/v1/jobs`);
      expect(devOutput).toContain(`'{"type":"greet","payload":{"name":"Ada"}}'`);

      const base = `http://127.0.0.1:${port}`;
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const enqueued = await fetch(`${base}/v1/jobs`, {
        method: "POST",
        headers,
        body: JSON.stringify({ type: "greet", payload: { name: "Ada" } }),
      });
      expect(enqueued.status).toBe(202);
      let job = (await enqueued.json()) as { id: string; status: string; result: unknown };
      const deadline = Date.now() + 30_000;
      while (!["succeeded", "dead"].includes(job.status) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        job = (await (await fetch(`${base}/v1/jobs/${job.id}`, { headers })).json()) as typeof job;
      }
      expect(job).toMatchObject({ status: "succeeded", result: { message: "Hello, Ada!" } });
      expect(limitBreaks(devOutput)).toEqual([]);
      timings["npm run dev → job succeeded"] = Date.now() - started;
    },
    3 * MINUTE,
  );
});
