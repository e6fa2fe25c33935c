// scripts/check-cycles.mjs on small trees: it names each folder cycle (type imports included) and passes a tree that points one way.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const SCRIPT = new URL("../../scripts/check-cycles.mjs", import.meta.url).pathname;
const trees: string[] = [];

function tree(files: Record<string, string>): string {
  const src = join(mkdtempSync(join(tmpdir(), "edge-jobs-cycles-")), "src");
  trees.push(dirname(src));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), text);
  }
  return src;
}

async function check(src: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, src]);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

afterEach(() => {
  for (const dir of trees.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("check:cycles", () => {
  it("passes a tree whose folders import one way", async () => {
    const src = tree({
      "index.ts": 'import { a } from "./core/a";\nexport const x = a;\n',
      "core/a.ts": 'import { b } from "../contract/b";\nexport const a = b;\n',
      "contract/b.ts": "export const b = 1;\n",
    });
    expect(await check(src)).toMatchObject({ code: 0, output: expect.stringContaining("no import cycle") });
  });

  it("fails on every cycle, a type-only import and a folder index included, and names the imports behind it", async () => {
    const src = tree({
      "http/errors.ts": 'import type { Q } from "../queue";\nexport type H = Q;\n',
      "queue/index.ts": 'export type { Q } from "./q";\n',
      "queue/q.ts": 'import { db } from "../db/client";\nexport type Q = typeof db;\n',
      "db/client.ts": 'export const db = 1;\nexport type S = import("../http/errors").H;\n',
      "http/routes/jobs.ts": 'import { db } from "../../db/client";\nexport const r = db;\n',
    });
    const { code, output } = await check(src);
    expect(code).toBe(1);
    expect(output).toContain("2 import cycles");
    expect(output).toContain("db → http → db");
    expect(output).toContain("db → http → queue → db");
    expect(output).toContain("http → queue: http/errors.ts → queue/index.ts");
  });
});
