// `npm run dev`: prepares local state, starts `wrangler dev`, prints a ready API key, and fires the
// cron tick every minute (Miniflare never fires crons by itself).
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

const PORT = Number(process.env.PORT ?? 8787);
const BASE = `http://127.0.0.1:${PORT}`;
const KEY_FILE = ".dev/api-key";
const TENANT = "default";
const wrangler = "node_modules/.bin/wrangler";

function say(line) {
  console.log(`\x1b[36m[edge-jobs]\x1b[0m ${line}`);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`Node ${process.versions.node} is too old: wrangler needs Node >= 22.12.`);
  process.exit(1);
}

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  say("created .dev.vars from .dev.vars.example (local secrets; never commit it)");
}
const devVars = Object.fromEntries(
  readFileSync(".dev.vars", "utf8")
    .split("\n")
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1).trim()]),
);

say("applying D1 migrations to the local database");
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// Local runs enforce Cloudflare's production limits (src/limits): a break throws and logs "platform limit broken".
const limits = process.env.ENFORCE_PLATFORM_LIMITS ?? "standard";
const devArgs = ["dev", "--port", String(PORT), "--ip", "127.0.0.1", "--test-scheduled"];
const dev = spawn(wrangler, [...devArgs, "--var", `ENFORCE_PLATFORM_LIMITS:${limits}`], {
  stdio: "inherit",
  env: process.env,
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));

async function waitForApi() {
  for (let i = 0; i < 240; i++) {
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
    body: JSON.stringify({ tenant: TENANT, name: "local dev" }),
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

try {
  await waitForApi();
  const key = await ensureApiKey();
  say(`API ready on ${BASE} — tenant "${TENANT}", API key (saved in ${KEY_FILE}):`);
  say(`  ${key}`);
  say("try:");
  say(
    `  curl -s -X POST ${BASE}/v1/jobs -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" -d '{"type":"send-order-confirmation","payload":{"orderId":"o-1"}}'`,
  );
  say(`  dashboard: ${BASE}/dashboard   docs: ${BASE}/docs   cron tick: every 60 s`);
  await tick();
  setInterval(tick, 60_000);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  dev.kill("SIGTERM");
  process.exit(1);
}
