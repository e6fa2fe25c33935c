// The enqueue INSERT: its text is built once from the drizzle schema, and each job only binds its values.
import { getTableColumns, getTableName, is, SQL } from "drizzle-orm";
import type { Db } from "./client";
import type { NewJob } from "./jobs";
import { type JobRow, jobs } from "./schema";

type Key = keyof JobRow;

/**
 * Every column of `jobs` with the value an insert gives it when the new job names none. Built at load,
 * so a column the statement could not bind as-is (an SQL default, a default function, a mapped type)
 * fails loudly here instead of being written wrong.
 */
const COLUMNS = Object.entries(getTableColumns(jobs)).map(([key, column]) => {
  const type: string = column.columnType;
  if (type !== "SQLiteText" && type !== "SQLiteInteger") {
    throw new Error(`jobs.${key}: ${type} needs drizzle's value mapping; job-insert binds raw values`);
  }
  if (column.defaultFn || is(column.default, SQL)) {
    throw new Error(`jobs.${key}: a computed default cannot be bound; give it a literal default`);
  }
  return {
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

const boundColumns = (rows: JobRow[]) =>
  COLUMNS.filter((c) => c.required || rows.some((row) => (row[c.key] ?? null) !== c.fallback));

/** The row exactly as the insert stores it: the schema's defaults where the new job gives no value. */
export function storedJobRow(row: NewJob): JobRow {
  const stored: Record<string, unknown> = {};
  for (const { key, fallback } of COLUMNS) {
    const value = row[key as keyof NewJob];
    stored[key] = value === undefined ? fallback : value;
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

/** Runs the inserts in one batch; answers, per row, whether it was created (false: its id already existed). */
export async function insertJobs(db: Db, rows: JobRow[]): Promise<boolean[]> {
  if (rows.length === 0) return [];
  const results = await d1Of(db).batch(insertJobStatements(db, rows));
  return results.map((result) => (result.meta?.changes ?? 0) > 0);
}
