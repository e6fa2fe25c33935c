// Schedule queries: CRUD for the API, the tick's due page and advance, and the upsert of schedules declared in code.
import { and, desc, eq, inArray, lt, lte, sql } from "drizzle-orm";
import type { CatchUp } from "../contract/cron-rules";
import type { Schedule, ScheduleJobOptions } from "../contract/schemas";
import type { Db } from "./client";
import { type ScheduleRow, schedules } from "./schema";

export type NewSchedule = typeof schedules.$inferInsert;
export type ScheduleChanges = Partial<Omit<NewSchedule, "tenantId" | "id" | "createdAt">>;

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

export function rowToSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    type: row.type,
    payload: JSON.parse(row.payload),
    jobOptions: JSON.parse(row.jobOptions) as ScheduleJobOptions,
    enabled: row.enabled === 1,
    catchUp: row.catchUp as CatchUp,
    nextRunAt: iso(row.nextRunAt),
    lastRunAt: iso(row.lastRunAt),
    createdAt: iso(row.createdAt) as string,
    updatedAt: iso(row.updatedAt) as string,
  };
}

const byKey = (tenant: string, id: string) => and(eq(schedules.tenantId, tenant), eq(schedules.id, id));

/** A second schedule with the same name trips the unique index (tenant_id, name). */
export function isNameTaken(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed: schedules\.tenant_id, schedules\.name/.test(e.message)) return true;
  }
  return false;
}

/** Answers the stored row, or nothing when the tenant already has a schedule with this name. */
export async function insertSchedule(db: Db, row: NewSchedule): Promise<ScheduleRow | undefined> {
  const [saved] = await db.insert(schedules).values(row).onConflictDoNothing().returning();
  return saved;
}

export async function getSchedule(db: Db, tenant: string, id: string): Promise<ScheduleRow | undefined> {
  return db.select().from(schedules).where(byKey(tenant, id)).get();
}

/** Newest first; the cursor is the last id of the previous page. Reads limit + 1 to know if more follow. */
export async function listSchedules(db: Db, tenant: string, filter: { limit: number; cursor?: string }) {
  return db
    .select()
    .from(schedules)
    .where(and(eq(schedules.tenantId, tenant), filter.cursor ? lt(schedules.id, filter.cursor) : undefined))
    .orderBy(desc(schedules.id))
    .limit(filter.limit + 1);
}

/** Throws when the new name is taken (see isNameTaken). */
export async function updateSchedule(
  db: Db,
  tenant: string,
  id: string,
  changes: ScheduleChanges,
): Promise<ScheduleRow | undefined> {
  const [row] = await db.update(schedules).set(changes).where(byKey(tenant, id)).returning();
  return row;
}

export async function deleteSchedule(db: Db, tenant: string, id: string): Promise<boolean> {
  const deleted = await db.delete(schedules).where(byKey(tenant, id)).returning({ id: schedules.id });
  return deleted.length > 0;
}

/** Run now: the fire time rides in the same batch as the job it made. */
export const markRunStatement = (db: Db, tenant: string, id: string, at: number) =>
  db
    .update(schedules)
    .set({ lastRunAt: sql`max(coalesce(${schedules.lastRunAt}, 0), ${at})` })
    .where(byKey(tenant, id));

// ---- tick ----

/** Enabled schedules due by `now`, through the partial index schedules_due, oldest due first. */
export async function findDueSchedules(db: Db, now: number, limit: number): Promise<ScheduleRow[]> {
  return db
    .select()
    .from(schedules)
    .where(and(eq(schedules.enabled, 1), lte(schedules.nextRunAt, now)))
    .orderBy(schedules.nextRunAt)
    .limit(limit);
}

/**
 * Moves a schedule past the fire times a tick handled. It lands only if nothing moved the schedule
 * since the tick read it (another tick, a pause, a new cron): the other writer's state wins, and the
 * fire-derived job ids keep any repeat of these fires from making a second job.
 */
export const advanceScheduleStatement = (db: Db, row: ScheduleRow, nextRunAt: number | null, lastFire?: number) =>
  db
    .update(schedules)
    .set({
      nextRunAt,
      ...(lastFire === undefined ? {} : { lastRunAt: sql`max(coalesce(${schedules.lastRunAt}, 0), ${lastFire})` }),
    })
    .where(
      and(
        byKey(row.tenantId, row.id),
        eq(schedules.enabled, 1),
        row.nextRunAt == null ? undefined : eq(schedules.nextRunAt, row.nextRunAt),
      ),
    );

// ---- schedules declared in code ----

export async function findSchedulesByName(db: Db, tenant: string, names: string[]): Promise<ScheduleRow[]> {
  if (names.length === 0) return [];
  return db
    .select()
    .from(schedules)
    .where(and(eq(schedules.tenantId, tenant), inArray(schedules.name, names)));
}

/** Declared schedules are created once; a concurrent sync that created it first wins. */
export const insertDeclaredStatement = (db: Db, row: NewSchedule) =>
  db.insert(schedules).values(row).onConflictDoNothing();

export const updateDeclaredStatement = (db: Db, tenant: string, id: string, changes: ScheduleChanges) =>
  db.update(schedules).set(changes).where(byKey(tenant, id));
