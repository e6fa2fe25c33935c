// The drizzle handle over the D1 binding.
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";

export type Db = DrizzleD1Database;

/**
 * Opened once per request. No relational schema is passed: nothing uses `db.query`, and drizzle
 * rebuilds that schema's relational config on every open (~60 µs of CPU, more than a whole floor job).
 */
export const openDb = (d1: D1Database): Db => drizzle(d1);

/** A drizzle query as a D1 statement, so cold-path drizzle writes can share one `d1.batch` with prepared hot statements. */
export function asD1Statement(db: Db, query: { toSQL(): { sql: string; params: unknown[] } }): D1PreparedStatement {
  const { sql, params } = query.toSQL();
  return (db as Db & { $client: D1Database }).$client.prepare(sql).bind(...params);
}

/** The drizzle handle's own D1 binding (the invocation's metered and guarded one). */
export const d1Of = (db: Db): D1Database => (db as Db & { $client: D1Database }).$client;
