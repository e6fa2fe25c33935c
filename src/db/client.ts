// The drizzle handle over the D1 binding.
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";

export type Db = DrizzleD1Database;

/**
 * Opened once per request. No relational schema is passed: nothing uses `db.query`, and drizzle
 * rebuilds that schema's relational config on every open (~60 µs of CPU, more than a whole floor job).
 */
export const openDb = (d1: D1Database): Db => drizzle(d1);
