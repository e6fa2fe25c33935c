// The tick's schedule phase: turn due fire times into jobs, exactly one job per (schedule, fire time).
import type { CatchUp } from "../contract/cron-rules";
import type { JobMessage } from "../contract/job";
import { type FirePlan, planFires } from "../core/cron";
import type { JobRegistry } from "../core/define-job";
import type { Logger } from "../core/logger";
import { asD1Statement, type Db, d1Of } from "../db/client";
import { insertManyStatements, storedJobRow } from "../db/job-insert";
import type { NewJob } from "../db/jobs";
import { advanceScheduleStatement, findDueSchedules } from "../db/schedules";
import type { ScheduleRow } from "../db/schema";
import { recordTenantStatements, rememberTenant } from "../db/tenants";
import { sendMessages } from "../service/enqueue";
import { fireContext, fireRow } from "../service/fire-row";

/** Due schedules read per tick; more wait for the next tick, oldest due first. */
export const SCHEDULE_PAGE = 50;
/** Jobs one tick may create from schedules, so its D1 batch stays bounded. */
export const MAX_FIRES_PER_TICK = 200;

export type FireReport = { fired: number; duplicates: number; sendFailures: number };

type Deps = { db: Db; queue: Queue<JobMessage>; registry: JobRegistry; log: Logger; now: number };

export async function fireDueSchedules(env: Env, deps: Deps): Promise<FireReport> {
  const { db, now } = deps;
  const due = await findDueSchedules(db, now, SCHEDULE_PAGE);
  if (due.length === 0) return { fired: 0, duplicates: 0, sendFailures: 0 };

  const planned: { schedule: ScheduleRow; plan: FirePlan }[] = [];
  let budget = MAX_FIRES_PER_TICK;
  for (const schedule of due) {
    const plan = planFires(schedule, schedule.catchUp as CatchUp, schedule.nextRunAt ?? now, now);
    // Schedules past the budget stay due and lead the next tick's page.
    if (plan.fires.length > budget && planned.length > 0) break;
    budget -= plan.fires.length;
    planned.push({ schedule, plan });
  }

  const rows: NewJob[] = [];
  for (const { schedule, plan } of planned) {
    const ctx = fireContext(env, deps, schedule.tenantId);
    for (const fireTime of plan.fires) rows.push(await fireRow(schedule, fireTime, ctx));
  }
  // The rows travel as one JSON parameter per ~90 KB (json_each), so a page of fires is a statement or two.
  const stored = rows.map(storedJobRow);
  const inserts = insertManyStatements(db, stored).map(({ statement }) => statement);
  const advances = planned.map(({ schedule, plan }) =>
    advanceScheduleStatement(db, schedule, plan.nextRunAt, plan.fires.at(-1)),
  );
  // A schedule's tenant may have no key and no other job: its first fire records it, for the tick's sweeps.
  const firingTenants = [...new Set(planned.map(({ schedule }) => schedule.tenantId))];
  const tenantRows = firingTenants.flatMap((tenant) => recordTenantStatements(db, tenant, now));
  // Jobs and the schedules' new positions commit together: a crash leaves both as they were.
  const results = await d1Of(db).batch<{ id: string }>([
    ...inserts,
    ...[...advances, ...tenantRows].map((query) => asD1Statement(db, query)),
  ]);
  for (const tenant of firingTenants) rememberTenant(tenant);
  // RETURNING answers only rows really inserted: a fire another tick already made sends nothing.
  const created = new Set(results.slice(0, inserts.length).flatMap((result) => result.results.map(({ id }) => id)));
  const inserted = stored.filter((row) => created.delete(row.id));
  const toSend = inserted.filter((row) => row.status === "queued");
  const sendFailures = await sendMessages(deps.queue, toSend, now, deps.log);

  for (const row of inserted) {
    deps.log.withMetadata(JSON.parse(row.metadata) as Record<string, string>).info("schedule fired", {
      jobId: row.id,
      type: row.type,
      tenant: row.tenantId,
      status: row.status,
      runAt: new Date(row.runAt).toISOString(),
    });
  }
  return { fired: inserted.length, duplicates: rows.length - inserted.length, sendFailures };
}
