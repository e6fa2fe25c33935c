// `npm run check:cycles`: fails when a folder of src/ imports a folder that imports it back, listing every such cycle.
//
// The graph is folder-level: an import from src/a/x.ts of src/b/y.ts is an edge a → b (type-only imports count
// too: they couple the folders just the same). Files directly in src/ are the entry points, the node "(entry)".
// Imports are read with TypeScript's parser (import/export declarations, import() calls and import types).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

// The folder to check: src/ of this repo, or the one given (the script's own test checks small trees).
const SRC = resolve(process.argv[2] ?? new URL("../src", import.meta.url).pathname);
const ROOT = dirname(SRC);
const ENTRY = "(entry)";
const EXTENSIONS = [".ts", ".tsx", ".d.ts", "/index.ts", "/index.tsx"];

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.tsx?$/.test(name)) yield path;
  }
}

function specifiersOf(file) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && node.argument.literal && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) found.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function resolveRelative(specifier, fromFile) {
  const base = resolve(dirname(fromFile), specifier);
  for (const candidate of [base, ...EXTENSIONS.map((ext) => base + ext)]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

const folderOf = (file) => {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? ENTRY : parts[0];
};

/** folder → folder → the file imports behind that edge. */
const edges = new Map();
const unresolved = [];
for (const file of sources(SRC)) {
  const from = folderOf(file);
  for (const specifier of specifiersOf(file)) {
    if (!specifier.startsWith(".")) continue;
    const target = resolveRelative(specifier, file);
    if (!target) {
      unresolved.push(`${relative(ROOT, file)}: "${specifier}"`);
      continue;
    }
    if (!target.startsWith(SRC + sep)) continue;
    const to = folderOf(target);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const byTarget = edges.get(from);
    if (!byTarget.has(to)) byTarget.set(to, []);
    byTarget.get(to).push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
  }
}

/** Every elementary cycle, each once: started from its smallest folder, visiting only larger ones. */
function elementaryCycles() {
  const nodes = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])])].sort();
  const cycles = [];
  for (const start of nodes) {
    const path = [start];
    const onPath = new Set(path);
    const walk = (node) => {
      for (const next of edges.get(node)?.keys() ?? []) {
        if (next === start) cycles.push([...path, start]);
        else if (next > start && !onPath.has(next)) {
          path.push(next);
          onPath.add(next);
          walk(next);
          onPath.delete(next);
          path.pop();
        }
      }
    };
    walk(start);
  }
  return cycles.sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()));
}

const cycles = elementaryCycles();
if (unresolved.length > 0) {
  console.error(
    `check:cycles: ${unresolved.length} relative imports resolve to no file:\n  ${unresolved.join("\n  ")}`,
  );
  process.exit(1);
}
if (cycles.length === 0) {
  console.log(`check:cycles: no import cycle between the ${edges.size} importing folders of ${relative(ROOT, SRC)}/`);
  process.exit(0);
}

const inCycles = new Set(cycles.flat());
console.error(
  `check:cycles: ${cycles.length} import cycles between folders of src/ (${inCycles.size} folders in them):`,
);
for (const cycle of cycles) console.error(`  ${cycle.join(" → ")}`);
console.error("\nthe imports behind each edge of a cycle:");
const cycleEdges = new Set(cycles.flatMap((c) => c.slice(1).map((to, i) => `${c[i]}\t${to}`)));
for (const edge of [...cycleEdges].sort()) {
  const [from, to] = edge.split("\t");
  const imports = edges.get(from).get(to);
  console.error(
    `  ${from} → ${to}: ${imports.slice(0, 3).join("; ")}${imports.length > 3 ? ` (+${imports.length - 3})` : ""}`,
  );
}
process.exit(1);
