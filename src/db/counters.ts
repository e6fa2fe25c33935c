// The per-minute counter upsert as prepared SQL: built once from the drizzle schema's names, bound per (tenant, type).
import { getTableColumns, getTableName } from "drizzle-orm";
import { BUCKET_BOUNDS_MS } from "../metrics/buckets";
import type { TallyEntry } from "../metrics/tally";
import { prepared } from "./consumer-statements";
import { metricsMinute } from "./schema";

const columns = getTableColumns(metricsMinute);
const col = (key: keyof typeof columns) => `"${columns[key].name}"`;
const ADDED = ["started", "succeeded", "failed", "dead", "deferred", "durationMsSum"] as const;

/** Adds JSON bucket arrays element by element inside the upsert, so concurrent consumers never lose a count. */
const MERGED_BUCKETS = `json_array(${BUCKET_BOUNDS_MS.map(
  (_, i) =>
    `coalesce(json_extract(${col("durationBuckets")}, '$[${i}]'), 0) + coalesce(json_extract(excluded.${col("durationBuckets")}, '$[${i}]'), 0)`,
).join(", ")})`;

const UPSERT = `INSERT INTO "${getTableName(metricsMinute)}"
  (${col("tenantId")}, ${col("minute")}, ${col("type")}, ${ADDED.map(col).join(", ")}, ${col("durationBuckets")})
  VALUES (${Array.from({ length: 4 + ADDED.length }, (_, i) => `?${i + 1}`).join(", ")})
  ON CONFLICT (${col("tenantId")}, ${col("minute")}, ${col("type")}) DO UPDATE SET
  ${ADDED.map((key) => `${col(key)} = ${col(key)} + excluded.${col(key)}`).join(", ")},
  ${col("durationBuckets")} = ${MERGED_BUCKETS}`;

/** One upsert per (tenant, type): a new minute inserts its row, later waves of that minute add to it. One row written each. */
export function counterUpserts(d1: D1Database, entries: readonly TallyEntry[], minute: number): D1PreparedStatement[] {
  if (entries.length === 0) return [];
  const statement = prepared(d1, UPSERT);
  return entries.map(({ tenant, type, counters }) =>
    statement.bind(tenant, minute, type, ...ADDED.map((key) => counters[key]), JSON.stringify(counters.buckets)),
  );
}
