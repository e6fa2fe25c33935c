#!/usr/bin/env node
// Moves one tenant's rows from its shard to another D1 shard and repoints tenant_shards (issue #17).
// Usage: node scripts/move-tenant.mjs --tenant T --to JOBS_DB_2 [--config wrangler.toml] [--local --persist-to DIR | --remote]
// The operator first pauses the tenant's job types, disables its schedules and waits until nothing runs (README "Shards").
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const WRANGLER = resolve(import.meta.dirname, "../node_modules/.bin/wrangler");
// Control-only tables live in DB alone; they are never copied or deleted.
const CONTROL_ONLY = new Set(["api_keys", "dashboard_sessions", "tenant_shards"]);
const PAGE = 500;

const { values } = parseArgs({
  options: {
    tenant: { type: "string" },
    to: { type: "string" },
    config: { type: "string", default: "wrangler.toml" },
    local: { type: "boolean", default: false },
    remote: { type: "boolean", default: false },
    "persist-to": { type: "string" },
  },
});
if (!values.tenant || !values.to || values.local === values.remote) {
  console.error(
    "usage: node scripts/move-tenant.mjs --tenant T --to BINDING [--config wrangler.toml] [--local --persist-to DIR | --remote]",
  );
  process.exit(1);
}
const target = values.to;
const where = values.local
  ? ["--local", ...(values["persist-to"] ? ["--persist-to", values["persist-to"]] : [])]
  : ["--remote"];

/** SQL literal for one JSON value from wrangler --json. */
export function literal(value) {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  return `'${String(value).replaceAll("'", "''")}'`;
}
const tenant = literal(values.tenant);

function wrangler(args) {
  return execFileSync(WRANGLER, ["d1", "execute", ...args, ...where, "-c", values.config, "-y"], {
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
    maxBuffer: 256 * 1024 * 1024,
  });
}
function query(binding, sql) {
  const out = JSON.parse(wrangler([binding, "--json", "--command", sql]));
  return out.flatMap((r) => r.results ?? []);
}
function applyFile(binding, statements) {
  if (statements.length === 0) return;
  const dir = mkdtempSync(join(tmpdir(), "move-tenant-"));
  const file = join(dir, "batch.sql");
  writeFileSync(file, `${statements.join("\n")}\n`);
  try {
    wrangler([binding, "--file", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const placed = query("DB", `SELECT shard FROM tenant_shards WHERE tenant_id = ${tenant}`);
if (placed.length === 0) throw new Error(`tenant ${values.tenant} has no row in tenant_shards`);
const source = placed[0].shard;
if (source === target) throw new Error(`tenant ${values.tenant} is already on ${target}`);

const [{ running }] = query(
  source,
  `SELECT count(*) AS running FROM jobs WHERE tenant_id = ${tenant} AND status = 'running'`,
);
if (running !== 0)
  throw new Error(`tenant ${values.tenant} has ${running} running jobs on ${source}: pause its types and wait`);

// Tables with a tenant_id column, discovered on the source (same migrations on every shard), with their columns in one
// query (each wrangler call costs seconds): the primary key orders the OFFSET paging, so no row is skipped.
const columns = query(
  source,
  "SELECT m.name AS tbl, p.name AS col, p.pk AS pk FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE '\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite%' ORDER BY m.name, p.pk, p.cid",
);
const byTable = new Map();
for (const c of columns) byTable.set(c.tbl, [...(byTable.get(c.tbl) ?? []), c]);
const tables = [...byTable]
  .filter(([name, cols]) => !CONTROL_ONLY.has(name) && cols.some((c) => c.col === "tenant_id"))
  .map(([name]) => name);

/** The primary key's columns, or every column of a table without one. */
function orderOf(table) {
  const cols = byTable.get(table);
  const key = cols.filter((c) => c.pk > 0).map((c) => `"${c.col}"`);
  return (key.length > 0 ? key : cols.map((c) => `"${c.col}"`)).join(", ");
}

const counts = {};
for (const table of tables) {
  let copied = 0;
  const order = orderOf(table);
  for (let offset = 0; ; offset += PAGE) {
    const rows = query(
      source,
      `SELECT * FROM "${table}" WHERE tenant_id = ${tenant} ORDER BY ${order} LIMIT ${PAGE} OFFSET ${offset}`,
    );
    if (rows.length === 0) break;
    const statements = rows.map((row) => {
      const cols = Object.keys(row);
      return `INSERT OR REPLACE INTO "${table}" (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map((c) => literal(row[c])).join(", ")});`;
    });
    applyFile(target, statements);
    copied += rows.length;
    if (rows.length < PAGE) break;
  }
  counts[table] = copied;
}

query("DB", `UPDATE tenant_shards SET shard = ${literal(target)} WHERE tenant_id = ${tenant}`);
applyFile(
  source,
  tables.map((t) => `DELETE FROM "${t}" WHERE tenant_id = ${tenant};`),
);
for (const [table, n] of Object.entries(counts)) console.log(`${table}\t${n}`);
console.log(`moved ${values.tenant}: ${source} -> ${target}`);
