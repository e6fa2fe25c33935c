// Builds what `wrangler deploy` would upload (--dry-run, nothing leaves the machine) and checks its size.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const run = promisify(execFile);
const ROOT = new URL("../", import.meta.url).pathname;
const KiB = 1024;
const MiB = 1024 * KiB;
/** Workers' limits on a Worker's compressed size: Free plan, and Paid plan. */
const FREE_LIMIT = 3 * MiB;
const PAID_LIMIT = 10 * MiB;

const WORKERS = [
  { name: "edge-jobs", config: "wrangler.toml" },
  { name: "checkout example", config: "examples/checkout/wrangler.toml" },
];

type Size = { raw: number; gzip: number };
const sizeOf = (bytes: Uint8Array): Size => ({ raw: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength });
const sum = (sizes: Size[]): Size =>
  sizes.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 });
const kib = (bytes: number) => `${(bytes / KiB).toFixed(1)} KiB`;
const share = (bytes: number, limit: number) => `${((100 * bytes) / limit).toFixed(1)}%`;

/** The modules wrangler would upload: everything it wrote except source maps and its README. */
async function workerBundle(config: string): Promise<Size> {
  const outdir = mkdtempSync(join(tmpdir(), "edge-jobs-bundle-"));
  try {
    await run(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", config], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    });
    const modules = readdirSync(outdir).filter((file) => !file.endsWith(".map") && file !== "README.md");
    if (modules.length === 0) throw new Error(`wrangler wrote no modules for ${config}`);
    return sum(modules.map((file) => sizeOf(readFileSync(join(outdir, file)))));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The typed client as a browser would load it: esbuild refuses if it reaches for a Node built-in. */
async function browserClient(): Promise<Size> {
  const result = await build({
    entryPoints: [join(ROOT, "src/client/index.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  return sum(result.outputFiles.map((file) => sizeOf(file.contents)));
}

let failed = false;
for (const { name, config } of WORKERS) {
  const size = await workerBundle(config);
  const verdict = size.gzip > FREE_LIMIT ? "OVER the Free plan limit" : "within the Free plan limit";
  console.log(
    `${name}: ${kib(size.raw)}, gzip ${kib(size.gzip)} = ${share(size.gzip, FREE_LIMIT)} of 3 MiB (Free), ` +
      `${share(size.gzip, PAID_LIMIT)} of 10 MiB (Paid): ${verdict}`,
  );
  // Edge Jobs must stay deployable on a Free account.
  if (size.gzip > FREE_LIMIT) failed = true;
}
const client = await browserClient();
console.log(`edge-jobs/client for browsers: ${kib(client.raw)} minified, gzip ${kib(client.gzip)}`);
if (failed) process.exit(1);
