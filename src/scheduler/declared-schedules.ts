// Upserts the schedules declared in code by (tenant, name), once per Worker instance, on its first tick.

import { nextFire } from "../core/cron";
import { newId } from "../core/ids";
import { CONTROL_DB } from "../core/shards";
import type { Db } from "../db/client";
import type { Statement } from "../db/jobs";
import {
  findSchedulesByName,
  insertDeclaredStatement,
  type ScheduleChanges,
  updateDeclaredStatement,
} from "../db/schedules";
import type { ScheduleRow } from "../db/schema";
import type { DeclaredSchedule } from "./define-schedule";

/** Names looked up per statement, under D1's 100 bound parameters. */
const NAMES_PER_STATEMENT = 98;

/** What the code owns; `enabled`, nextRunAt and lastRunAt belong to the running system. */
function codeFields(schedule: DeclaredSchedule) {
  return {
    cron: schedule.cron,
    timezone: schedule.timezone,
    type: schedule.type,
    payload: JSON.stringify(schedule.payload ?? {}),
    jobOptions: JSON.stringify(schedule.jobOptions),
    catchUp: schedule.catchUp,
  };
}

function changesFor(row: ScheduleRow, schedule: DeclaredSchedule, now: number): ScheduleChanges | null {
  const fields = codeFields(schedule);
  const same = (Object.keys(fields) as (keyof typeof fields)[]).every((k) => row[k] === fields[k]);
  if (same) return null;
  const timingChanged = row.cron !== fields.cron || row.timezone !== fields.timezone;
  return {
    ...fields,
    updatedAt: now,
    // A new cron or zone starts from now; the old one's next fire time no longer means anything.
    ...(timingChanged && row.enabled === 1 ? { nextRunAt: nextFire(fields, now) } : {}),
  };
}

/** Answers how many schedules were created or changed. Unchanged ones cost one read and no write. */
export async function upsertDeclaredSchedules(db: Db, declared: readonly DeclaredSchedule[], now: number) {
  const byTenant = new Map<string, DeclaredSchedule[]>();
  for (const s of declared) byTenant.set(s.tenant, [...(byTenant.get(s.tenant) ?? []), s]);
  const writes: Statement[] = [];
  for (const [tenant, list] of byTenant) {
    const stored = new Map<string, ScheduleRow>();
    for (let i = 0; i < list.length; i += NAMES_PER_STATEMENT) {
      const names = list.slice(i, i + NAMES_PER_STATEMENT).map((s) => s.name);
      for (const row of await findSchedulesByName(db, tenant, names)) stored.set(row.name, row);
    }
    for (const schedule of list) {
      const row = stored.get(schedule.name);
      if (row) {
        const changes = changesFor(row, schedule, now);
        if (changes) writes.push(updateDeclaredStatement(db, tenant, row.id, changes));
        continue;
      }
      writes.push(
        insertDeclaredStatement(db, {
          tenantId: tenant,
          id: newId("sch", now),
          name: schedule.name,
          ...codeFields(schedule),
          enabled: schedule.enabled ? 1 : 0,
          nextRunAt: schedule.enabled ? nextFire(schedule, now) : null,
          createdAt: now,
          updatedAt: now,
        }),
      );
    }
  }
  if (writes.length > 0) await db.batch(writes as [Statement, ...Statement[]]);
  return writes.length;
}

/**
 * Runs the upsert on the first tick of this Worker instance, and again after a failed try; per shard, with the
 * schedules of the tenants `onShard` says it holds (one shard: all of them).
 */
export function declaredScheduleSync(declared: readonly DeclaredSchedule[]) {
  const synced = new Set<string>();
  return async (
    db: Db,
    now: number,
    shard = CONTROL_DB,
    onShard: (tenant: string) => Promise<boolean> = async () => true,
  ): Promise<number> => {
    if (declared.length === 0 || synced.has(shard)) return 0;
    const mine: DeclaredSchedule[] = [];
    for (const schedule of declared) if (await onShard(schedule.tenant)) mine.push(schedule);
    const written = await upsertDeclaredSchedules(db, mine, now);
    synced.add(shard);
    return written;
  };
}

export type DeclaredScheduleSync = ReturnType<typeof declaredScheduleSync>;
