#!/usr/bin/env node
// `npm create edge-jobs@latest my-app`: writes a Worker project that runs its own job types on Edge Jobs.
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const TEMPLATE = new URL("./template/", import.meta.url).pathname;
/** The edge-jobs version this starter was written for. */
const EDGE_JOBS = "^0.1.0";
/** Files the template keeps under another name, because npm leaves a package's .gitignore out of its tarball. */
const RENAMED = { _gitignore: ".gitignore" };

const USAGE = `usage: npm create edge-jobs@latest <folder> [-- --edge-jobs <npm spec>]
  <folder>             the new project's folder (must not exist, or be empty)
  --edge-jobs <spec>   the edge-jobs dependency to write (default ${EDGE_JOBS}; e.g. file:../edge-jobs-0.1.0.tgz)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "edge-jobs": { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help || positionals.length !== 1) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 1);
}

const target = resolve(positionals[0]);
const name = basename(target)
  .toLowerCase()
  .replace(/[^a-z0-9-]+/g, "-")
  .replace(/^-+|-+$/g, "");
if (!name) {
  console.error(`cannot make a Worker name from "${positionals[0]}": use letters, digits and dashes`);
  process.exit(1);
}
if (existsSync(target) && readdirSync(target).length > 0) {
  console.error(`${target} exists and is not empty`);
  process.exit(1);
}

cpSync(TEMPLATE, target, { recursive: true });
for (const [from, to] of Object.entries(RENAMED)) {
  if (existsSync(join(target, from))) renameSync(join(target, from), join(target, to));
}
const edgeJobs = values["edge-jobs"] ?? EDGE_JOBS;
for (const file of ["package.json", "wrangler.toml", "README.md"]) {
  const path = join(target, file);
  const text = readFileSync(path, "utf8").replaceAll("{{name}}", name).replaceAll("{{edge-jobs}}", edgeJobs);
  writeFileSync(path, text);
}

const where = relative(process.cwd(), target) || ".";
console.log(`Created ${name} in ${target}

Next:
  cd ${where}
  npm install
  npm run dev      # local API on http://127.0.0.1:8787, prints a dev API key and a curl line
  npm test         # the example job's tests, inside workerd

Your job types live in src/jobs/; src/index.ts registers them.`);
