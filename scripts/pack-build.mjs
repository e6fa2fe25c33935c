// `npm run build`: compiles the library's entry points to dist/ (.js + .d.ts) and makes the output stand on its own.
//
// Two rewrites after tsc, both on the syntax tree (TypeScript's parser), never by text search:
// - relative imports get their file's extension (`./worker` → `./worker.js`, `./client` → `./client/index.js`),
//   so Node's ESM loader and `moduleResolution: "NodeNext"` accept the package, not only bundlers;
// - the sources name the Worker's env as the global `Env` of this repo's `wrangler types`; an app has its own, so in
//   the declarations it becomes `Cloudflare.Env`, the interface every `wrangler types` output augments (the app's env).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";

const ROOT = new URL("../", import.meta.url).pathname;
const DIST = join(ROOT, "dist");

rmSync(DIST, { recursive: true, force: true });
const tsc = spawnSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
  cwd: ROOT,
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

function* filesUnder(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/** The specifier with the extension of the file it names in dist/, or unchanged when it names none. */
function withExtension(specifier, fromFile, declaration) {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return specifier;
  if (/\.(m?js|json)$/.test(specifier)) return specifier;
  const target = resolve(dirname(fromFile), specifier);
  const ext = declaration ? ".d.ts" : ".js";
  if (existsSync(target + ext)) return `${specifier}.js`;
  if (existsSync(join(target, `index${ext}`))) return `${specifier}/index.js`;
  throw new Error(`${fromFile}: cannot resolve "${specifier}" in dist/`);
}

/** True when the file itself declares or imports a name `Env` (then a reference means that one, not the global). */
function hasOwnEnv(source) {
  let own = false;
  const visit = (node) => {
    if (own) return;
    if (
      (ts.isImportSpecifier(node) ||
        ts.isInterfaceDeclaration(node) ||
        ts.isTypeAliasDeclaration(node) ||
        ts.isClassDeclaration(node) ||
        ts.isTypeParameterDeclaration(node)) &&
      node.name?.text === "Env"
    ) {
      own = true;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return own;
}

function rewrite(file) {
  const declaration = file.endsWith(".d.ts");
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edits = [];
  const replaceSpecifier = (literal) => {
    const next = withExtension(literal.text, file, declaration);
    if (next !== literal.text) edits.push([literal.getStart(source) + 1, literal.getEnd() - 1, next]);
  };
  const renameEnv = declaration && !hasOwnEnv(source);
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) replaceSpecifier(node.moduleSpecifier);
    } else if (ts.isImportTypeNode(node)) {
      const literal = node.argument.literal;
      if (literal && ts.isStringLiteral(literal)) replaceSpecifier(literal);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) replaceSpecifier(arg);
    } else if (
      renameEnv &&
      ts.isTypeReferenceNode(node) &&
      ts.isIdentifier(node.typeName) &&
      node.typeName.text === "Env"
    ) {
      edits.push([node.typeName.getStart(source), node.typeName.getEnd(), "Cloudflare.Env"]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (edits.length === 0) return 0;
  let out = text;
  for (const [start, end, value] of edits.sort((a, b) => b[0] - a[0])) {
    out = out.slice(0, start) + value + out.slice(end);
  }
  writeFileSync(file, out);
  return edits.length;
}

let files = 0;
let edits = 0;
for (const file of filesUnder(DIST)) {
  if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
  files++;
  edits += rewrite(file);
}
console.log(`built dist/: ${files} files, ${edits} import specifiers and Env references rewritten`);
