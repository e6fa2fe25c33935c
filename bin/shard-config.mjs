// Local shards (issue #17): from a wrangler config, writes a copy that stores jobs in N D1 databases. The copy adds
// the bindings JOBS_DB_1 … JOBS_DB_{N-1} beside DB (same migrations, names "<DB's name>-<i>", distinct dummy ids so
// Miniflare keeps a file each) and sets the var JOBS_DBS. It lives in another folder, so its paths are made absolute.
// Ships in bin/ because `edge-jobs dev` imports it from the published package (scripts/ is not published).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** The D1 binding names of N shards: DB first (it is also the control database), then JOBS_DB_1 … */
export function shardBindings(shards) {
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a whole number >= 1, not ${shards}`);
  return ["DB", ...Array.from({ length: shards - 1 }, (_, i) => `JOBS_DB_${i + 1}`)];
}

/** Path keys whose relative values are resolved against the source config's folder. */
const PATH_KEY = /^(\s*(?:main|directory|migrations_dir|tsconfig|bucket)\s*=\s*)"([^"]+)"/gm;

/**
 * Answers the text of the sharded config. TOML is edited as text: enough for Edge Jobs' own wrangler.toml and the
 * starter's, whose DB block is `[[d1_databases]]` with `binding = "DB"` and double-quoted strings.
 */
export function shardConfigText(text, shards, sourceDir) {
  const bindings = shardBindings(shards);
  const absolute = text.replace(PATH_KEY, (_, key, path) => `${key}${JSON.stringify(resolve(sourceDir, path))}`);
  const lines = absolute.split("\n");
  const header = (line) => /^\s*\[/.test(line);
  // The DB block: from its [[d1_databases]] header to the next table header.
  let start = -1;
  let end = -1;
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\[\[d1_databases\]\]/.test(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !header(lines[j])) j++;
    if (lines.slice(i, j).some((l) => /^\s*binding\s*=\s*"DB"/.test(l))) {
      start = i;
      end = j;
      break;
    }
  }
  if (start < 0) throw new Error('the wrangler config has no [[d1_databases]] block with binding = "DB"');
  const block = lines.slice(start, end);
  const field = (name) => {
    for (const l of block) {
      const m = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`).exec(l);
      if (m) return m[1];
    }
    return undefined;
  };
  const name = field("database_name") ?? "edge-jobs";
  const migrations = field("migrations_dir");
  const added = bindings.slice(1).flatMap((binding, k) => {
    const i = k + 1;
    return [
      "[[d1_databases]]",
      `binding = "${binding}"`,
      `database_name = "${name}-${i}"`,
      `database_id = "00000000-0000-0000-0000-${String(i).padStart(12, "0")}"`,
      ...(migrations === undefined ? [] : [`migrations_dir = ${JSON.stringify(migrations)}`]),
      "",
    ];
  });
  // Right after DB's last setting: blank and comment lines before the next header belong to that header.
  let insertAt = end;
  while (insertAt > start + 1 && /^\s*(#.*)?$/.test(lines[insertAt - 1])) insertAt--;
  lines.splice(insertAt, 0, "", ...added.slice(0, -1));

  const jobsDbs = `JOBS_DBS = "${bindings.join(",")}"`;
  const vars = lines.findIndex((l) => /^\s*\[vars\]\s*(#.*)?$/.test(l));
  if (vars < 0) {
    lines.push("", "[vars]", jobsDbs);
  } else {
    let j = vars + 1;
    while (j < lines.length && !header(lines[j])) j++;
    const existing = lines.slice(vars + 1, j).findIndex((l) => /^\s*JOBS_DBS\s*=/.test(l));
    if (existing >= 0) lines[vars + 1 + existing] = jobsDbs;
    else lines.splice(vars + 1, 0, jobsDbs);
  }
  return lines.join("\n");
}

/**
 * Writes the sharded copy of `config` (default wrangler.toml) into `outDir` (default .wrangler/shards beside it)
 * and answers its path and the bindings to migrate.
 */
export function writeShardConfig({ config = "wrangler.toml", shards, outDir } = {}) {
  const source = resolve(config);
  const dir = resolve(outDir ?? join(dirname(source), ".wrangler", "shards"));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, basename(source));
  writeFileSync(path, shardConfigText(readFileSync(source, "utf8"), shards, dirname(source)));
  return { path, bindings: shardBindings(shards) };
}
