// The enqueue INSERT: its text is built once from the drizzle schema, and each job only binds its values.
import { getTableColumns, getTableName, is, SQL } from "drizzle-orm";
import type { Db } from "./client";
import { prepared } from "./consumer-statements";
import type { NewJob } from "./jobs";
import { type JobRow, jobs } from "./schema";

type Key = keyof JobRow;

/**
 * Every column of `jobs` with the value an insert gives it when the new job names none. Built at load,
 * so a column the statement could not bind as-is (an SQL default, a default function, a mapped type)
 * fails loudly here instead of being written wrong.
 */
const COLUMNS = Object.entries(getTableColumns(jobs)).map(([key, column], index) => {
  const type: string = column.columnType;
  if (type !== "SQLiteText" && type !== "SQLiteInteger") {
    throw new Error(`jobs.${key}: ${type} needs drizzle's value mapping; job-insert binds raw values`);
  }
  if (column.defaultFn || is(column.default, SQL)) {
    throw new Error(`jobs.${key}: a computed default cannot be bound; give it a literal default`);
  }
  return {
    /** Its bit in a column set's key (see insertManySql); 2 ** index is exact below 2 ** 53. */
    bit: 2 ** index,
    key: key as Key,
    name: column.name,
    fallback: column.hasDefault ? (column.default ?? null) : null,
    /** Not null without a default: every insert must name it. */
    required: column.notNull && !column.hasDefault,
  };
});

/**
 * `on conflict do nothing`: an idempotent replay names an existing id, and D1 then reports 0 changes.
 * Only the columns some row of the batch sets are bound; the rest (result, error, started_at, … on a new
 * job) take the table's own default, which is the schema's. Fewer bound values, less for D1 to carry.
 */
function insertSql(columns: typeof COLUMNS): string {
  const names = columns.map((c) => `"${c.name}"`).join(", ");
  return `insert into "${getTableName(jobs)}" (${names}) values (${columns.map(() => "?").join(", ")}) on conflict do nothing`;
}

if (COLUMNS.length > 53) throw new Error("jobs has more columns than a column-set bitmask holds");

const boundColumns = (rows: JobRow[]) =>
  COLUMNS.filter((c) => c.required || rows.some((row) => (row[c.key] ?? null) !== c.fallback));

/** Every column's stored value for a job that names none, in the table's column order. */
const FALLBACKS: Record<string, unknown> = Object.fromEntries(COLUMNS.map((c) => [c.key, c.fallback]));

/** The row exactly as the insert stores it: the schema's defaults where the new job gives no value. */
export function storedJobRow(row: NewJob): JobRow {
  // One copy of the defaults laid under the row (cheaper than building the object key by key).
  const stored: Record<string, unknown> = { ...FALLBACKS, ...row };
  for (const key in row) {
    if (stored[key] === undefined) stored[key] = FALLBACKS[key] ?? null;
  }
  return stored as JobRow;
}

/** The drizzle handle's own D1 binding (the invocation's metered and guarded one). */
const d1Of = (db: Db): D1Database => (db as Db & { $client: D1Database }).$client;

/** One prepared INSERT, bound once per row, for a single db.batch (all or nothing). */
export function insertJobStatements(db: Db, rows: JobRow[]): D1PreparedStatement[] {
  const columns = boundColumns(rows);
  const insert = d1Of(db).prepare(insertSql(columns));
  return rows.map((row) => insert.bind(...columns.map(({ key }) => row[key] ?? null)));
}

/**
 * Many rows in one statement: each row travels as a JSON array inside one JSON parameter (json_each), so
 * a 100-job batch is one D1 query, not 100 (the Free plan allows 50 per invocation), and binds one
 * parameter (D1 allows 100). `where true` lets SQLite read the upsert clause after a SELECT. RETURNING
 * names the ids this statement created: an id that already existed is skipped and not returned.
 */
function insertManySql(columns: typeof COLUMNS): string {
  // A request's rows set the same few column sets over and over: each one's text is built once per isolate.
  let mask = 0;
  for (const column of columns) mask += column.bit;
  let sql = manySqlByColumns.get(mask);
  if (!sql) {
    const names = columns.map((c) => `"${c.name}"`).join(", ");
    const values = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ");
    sql = `insert into "${getTableName(jobs)}" (${names}) select ${values} from json_each(?1) where true on conflict do nothing returning "id" as id`;
    manySqlByColumns.set(mask, sql);
  }
  return sql;
}
const manySqlByColumns = new Map<number, string>();

/**
 * D1 refuses a statement over 100 KB; the rows' JSON is kept under this per statement (a single larger
 * row still goes alone: its payload is bounded by the enqueue payload limit, as its own insert's was).
 */
export const INSERT_MANY_MAX_BYTES = 90_000;

// Stored text is ASCII in the common case: its UTF-8 size is then its length, with no encoding done.
const NON_ASCII = /[\u0080-\uffff]/;
const encoder = new TextEncoder();
const utf8Bytes = (text: string) => (NON_ASCII.test(text) ? encoder.encode(text).byteLength : text.length);

/** The statements that insert `rows` (in order), each with how many rows it carries. */
export function insertManyStatements(db: Db, rows: JobRow[]): { statement: D1PreparedStatement; count: number }[] {
  if (rows.length === 0) return [];
  const columns = boundColumns(rows);
  const d1 = d1Of(db);
  const sql = insertManySql(columns);
  const values = rows.map((row) => columns.map(({ key }) => row[key] ?? null));
  // The common case, every row in one statement: one JSON text, no per-row strings.
  const whole = JSON.stringify(values);
  if (utf8Bytes(whole) <= INSERT_MANY_MAX_BYTES)
    return [{ statement: prepared(d1, sql).bind(whole), count: rows.length }];
  const chunks: { json: string[]; bytes: number }[] = [];
  let chunk: { json: string[]; bytes: number } | undefined;
  for (const row of values) {
    const json = JSON.stringify(row);
    const bytes = utf8Bytes(json) + 1;
    if (!chunk || (chunk.json.length > 0 && chunk.bytes + bytes > INSERT_MANY_MAX_BYTES)) {
      chunk = { json: [], bytes: 2 };
      chunks.push(chunk);
    }
    chunk.json.push(json);
    chunk.bytes += bytes;
  }
  return chunks.map((c) => ({ statement: prepared(d1, sql).bind(`[${c.json.join(",")}]`), count: c.json.length }));
}

/**
 * Inserts the rows in one batch (all or nothing) of a few statements; answers, per row, whether it was
 * created (false: its id already existed, or an earlier row of the same call took it).
 */
export async function insertJobs(db: Db, rows: JobRow[]): Promise<boolean[]> {
  if (rows.length === 0) return [];
  const statements = insertManyStatements(db, rows);
  const results = await d1Of(db).batch<{ id: string }>(statements.map((s) => s.statement));
  const created = new Set<string>();
  for (const result of results) for (const { id } of result.results) created.add(id);
  // Two items naming one id (a key repeated in a request) insert it once: the first is the created one.
  return rows.map((row) => created.delete(row.id));
}
