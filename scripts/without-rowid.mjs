// Runs after drizzle-kit generate: drizzle-kit cannot declare WITHOUT ROWID, so tables whose
// primary key is composite get it here. An insert then writes one row, not a row plus an index row.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const dir = new URL("../migrations/", import.meta.url);
for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql"))) {
  const path = new URL(file, dir);
  const sql = readFileSync(path, "utf8");
  const patched = sql.replace(/(\n\tPRIMARY KEY\([^)]*,[^)]*\)\n\))(;)/g, "$1 WITHOUT ROWID$2");
  if (patched !== sql) {
    writeFileSync(path, patched);
    console.log(`${file}: composite-key tables made WITHOUT ROWID`);
  }
}
