#!/usr/bin/env node
// `edge-jobs dev`: runs an Edge Jobs Worker locally: applies D1 migrations, starts `wrangler dev`, prints a ready
// API key with a curl line, and fires the cron tick every minute (Miniflare never fires crons by itself).
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { writeShardConfig } from "./shard-config.mjs";

const USAGE = `usage: edge-jobs dev [options] [-- wrangler dev arguments]
  --port <n>          port of wrangler dev (default $PORT or 8787)
  --tenant <name>     tenant of the printed dev API key (default "default")
  --try <json>        the enqueue body the printed curl line sends (default: package.json "edgeJobs.try")
  --persist-to <dir>  local state folder, for the migrations and wrangler dev alike
  --database <name>   D1 binding to migrate (default DB)
  --config <file>     wrangler config (default wrangler's own lookup)
  --shards <n>        store jobs in n local D1 databases (default $EDGE_JOBS_SHARDS or 1): DB, JOBS_DB_1, …`;

function say(line) {
  console.log(`\x1b[36m[edge-jobs]\x1b[0m ${line}`);
}

function fail(message) {
  console.error(`edge-jobs: ${message}`);
  process.exit(1);
}

const [command, ...rest] = process.argv.slice(2);
if (command !== "dev") fail(command ? `unknown command "${command}"\n${USAGE}` : USAGE);

const { values: options, positionals: passThrough } = parseArgs({
  args: rest,
  allowPositionals: true,
  options: {
    port: { type: "string" },
    tenant: { type: "string", default: "default" },
    try: { type: "string" },
    "persist-to": { type: "string" },
    database: { type: "string", default: "DB" },
    config: { type: "string" },
    shards: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12))
  fail(`Node ${process.versions.node} is too old: wrangler needs >= 22.12.`);

const PORT = Number(options.port ?? process.env.PORT ?? 8787);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) fail(`--port must be a port number, not "${options.port}"`);
const BASE = `http://127.0.0.1:${PORT}`;
const KEY_FILE = join(".dev", "api-key");
const wrangler = join("node_modules", ".bin", "wrangler");
if (!existsSync(wrangler)) fail("wrangler is not installed here: run `npm install` (wrangler is a peer dependency)");
const shardsOption = options.shards ?? (process.env.EDGE_JOBS_SHARDS || "1");
const SHARDS = Number(shardsOption);
if (!Number.isInteger(SHARDS) || SHARDS < 1)
  fail(`--shards / EDGE_JOBS_SHARDS must be a number >= 1, not "${shardsOption}"`);
let config = options.config;
let persistTo = options["persist-to"];
let databases = [options.database];
if (SHARDS > 1) {
  // The sharded copy of the config lives in .wrangler/shards/; wrangler would keep state and look for .dev.vars
  // beside it, so state stays in the usual .wrangler/state and .dev.vars is copied beside it (below).
  const source = config ?? "wrangler.toml";
  if (!existsSync(source)) fail(`--shards needs a wrangler.toml (or --config <file.toml>): ${source} does not exist`);
  const generated = writeShardConfig({ config: source, shards: SHARDS, outDir: join(".wrangler", "shards") });
  config = generated.path;
  persistTo ??= join(".wrangler", "state");
  databases = generated.bindings;
  say(`${SHARDS} local shards (${databases.join(", ")}): config ${config}`);
}
const shared = [...(config ? ["--config", config] : []), ...(persistTo ? ["--persist-to", persistTo] : [])];

if (!existsSync(".dev.vars")) {
  if (!existsSync(".dev.vars.example")) fail("no .dev.vars and no .dev.vars.example to copy it from");
  copyFileSync(".dev.vars.example", ".dev.vars");
  say("created .dev.vars from .dev.vars.example (local secrets; never commit it)");
}
const devVars = Object.fromEntries(
  readFileSync(".dev.vars", "utf8")
    .split("\n")
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1).trim()]),
);
if (!devVars.ADMIN_TOKEN) fail(".dev.vars sets no ADMIN_TOKEN: the dev API key is made with it");
// wrangler reads the .dev.vars beside its config (--env-file did not reach the Worker's secrets in wrangler 4.164).
if (SHARDS > 1) copyFileSync(".dev.vars", join(dirname(config), ".dev.vars"));

say(`applying D1 migrations to the local database${databases.length > 1 ? "s" : ""}`);
for (const database of databases) {
  const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", database, "--local", ...shared], {
    stdio: "inherit",
    env: { ...process.env, CI: "true" },
  });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);
}

// Local runs enforce Cloudflare's production limits: a break throws and logs "platform limit broken".
const limits = process.env.ENFORCE_PLATFORM_LIMITS ?? "standard";
const devArgs = ["dev", "--port", String(PORT), "--ip", "127.0.0.1", "--test-scheduled", ...shared];
const dev = spawn(wrangler, [...devArgs, "--var", `ENFORCE_PLATFORM_LIMITS:${limits}`, ...passThrough], {
  stdio: "inherit",
  env: process.env,
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));

async function waitForApi() {
  for (let i = 0; i < 240; i++) {
    if (dev.exitCode !== null) throw new Error("wrangler dev exited");
    try {
      if ((await fetch(`${BASE}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("wrangler dev did not start within 2 minutes");
}

/** Reuses the saved key while it still works; otherwise asks the API for a new one with the admin token. */
async function ensureApiKey() {
  if (existsSync(KEY_FILE)) {
    const saved = readFileSync(KEY_FILE, "utf8").trim();
    const res = await fetch(`${BASE}/v1/jobs?limit=1`, { headers: { authorization: `Bearer ${saved}` } });
    if (res.ok) return saved;
  }
  const res = await fetch(`${BASE}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${devVars.ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ tenant: options.tenant, name: "local dev" }),
  });
  if (res.status !== 201) throw new Error(`could not create a dev API key: ${res.status} ${await res.text()}`);
  const { key } = await res.json();
  mkdirSync(".dev", { recursive: true });
  writeFileSync(KEY_FILE, `${key}\n`);
  return key;
}

async function tick() {
  try {
    await fetch(`${BASE}/cdn-cgi/handler/scheduled`);
  } catch {
    // wrangler dev may be reloading; the next minute tries again
  }
}

/** The curl line's body: --try, else package.json's "edgeJobs": {"try": {...}}, else an `http` job. */
function exampleBody() {
  if (options.try) return options.try;
  const manifest = existsSync("package.json") ? JSON.parse(readFileSync("package.json", "utf8")) : {};
  if (manifest.edgeJobs?.try) return JSON.stringify(manifest.edgeJobs.try);
  return JSON.stringify({ type: "http", payload: { url: "https://example.com", method: "GET" } });
}

const example = exampleBody();
try {
  await waitForApi();
  const key = await ensureApiKey();
  say(`API ready on ${BASE} — tenant "${options.tenant}", API key (saved in ${KEY_FILE}):`);
  say(`  ${key}`);
  say("try:");
  say(
    `  curl -s -X POST ${BASE}/v1/jobs -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" -d '${example}'`,
  );
  say(`  dashboard: ${BASE}/dashboard   docs: ${BASE}/docs   cron tick: every 60 s`);
  await tick();
  setInterval(tick, 60_000);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  dev.kill("SIGTERM");
  process.exit(1);
}
