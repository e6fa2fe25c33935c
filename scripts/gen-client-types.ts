// Writes the typed client's types from the app's own OpenAPI document; `--check` fails when they drifted.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const ROOT = new URL("../", import.meta.url).pathname;
export const TYPES_FILE = "src/client/openapi-types.ts";

const HEADER = [
  "// The HTTP contract's types, generated from the app's own /openapi.json: do not edit, run `npm run gen:client`.",
  "// biome-ignore-all lint: generated code",
  "",
].join("\n");

/**
 * Node cannot load `cloudflare:*` modules. A route module may still reach one (a Durable Object class, an
 * entrypoint) without running it to build the document, so those resolve to inert stand-ins here.
 */
const WORKERS_STUB = [
  "export class DurableObject {}",
  "export class WorkerEntrypoint {}",
  "export class WorkflowEntrypoint {}",
  "export class RpcTarget {}",
  "export const env = {};",
  "export const exports = {};",
  "export function waitUntil() {}",
].join("\n");
const STUB_HOOK = `export async function resolve(specifier, context, next) {
  if (specifier.startsWith("cloudflare:")) {
    return { url: "data:text/javascript," + encodeURIComponent(${JSON.stringify(WORKERS_STUB)}), shortCircuit: true };
  }
  return next(specifier, context);
}`;

/** The document exactly as GET /openapi.json serves it; the route never touches a binding. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  register(`data:text/javascript,${encodeURIComponent(STUB_HOOK)}`);
  const { createApp } = await import("../src/http/app");
  const { createRegistry } = await import("../src/core/define-job");
  const { httpJob } = await import("../src/builtin/http");
  const { exampleJobs } = await import("../examples/jobs");
  const app = createApp(createRegistry([httpJob, ...exampleJobs]));
  const quiet = console.log;
  console.log = () => {}; // the request log line is noise in a build step
  try {
    const res = await app.request("/openapi.json", {}, { DB: {} });
    if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  } finally {
    console.log = quiet;
  }
}

/** openapi-typescript's output, formatted by Biome so the committed file is stable and lint-clean. */
export async function typesFor(doc: Record<string, unknown>): Promise<string> {
  const source =
    HEADER +
    astToString(await openapiTS(doc as unknown as Parameters<typeof openapiTS>[0], { defaultNonNullable: false }));
  return execFileSync(`${ROOT}node_modules/.bin/biome`, ["format", `--stdin-file-path=${TYPES_FILE}`], {
    cwd: ROOT,
    input: source,
    encoding: "utf8",
  });
}

function firstDifference(a: string, b: string): string {
  const left = a.split("\n");
  const right = b.split("\n");
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i])
      return `line ${i + 1}:\n  committed: ${left[i] ?? "<end>"}\n  generated: ${right[i] ?? "<end>"}`;
  }
  return "";
}

async function main() {
  const check = process.argv.includes("--check");
  const fileArg = process.argv.indexOf("--file");
  // `--file` checks or writes another copy (the drift test uses it); the default is the committed file.
  const path = fileArg > 0 ? (process.argv[fileArg + 1] ?? "") : `${ROOT}${TYPES_FILE}`;
  const generated = await typesFor(await openApiDocument());
  if (!check) {
    writeFileSync(path, generated);
    console.log(`wrote ${path}`);
    return;
  }
  let committed = "";
  try {
    committed = readFileSync(path, "utf8");
  } catch {
    // a missing file counts as drift
  }
  if (committed !== generated) {
    console.error(
      `${path} does not match the app's OpenAPI document (a route or schema changed).\n` +
        `Run \`npm run gen:client\` and commit the result.\nFirst difference at ${firstDifference(committed, generated)}`,
    );
    process.exit(1);
  }
  console.log(`${path} matches the app's OpenAPI document`);
}

// Run as a command; imported (by the e2e drift test) it only lends its functions.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
