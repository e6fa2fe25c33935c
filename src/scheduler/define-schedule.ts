// defineSchedule: recurring jobs declared in code, checked when the Worker is composed and upserted by name.

import { type CatchUp, canonicalTimezone } from "../contract/cron-rules";
import {
  type CreateScheduleInput,
  CreateScheduleSchema,
  type ScheduleJobOptions,
  TenantSchema,
} from "../contract/schemas";
import type { JobRegistry } from "../core/define-job";

export type ScheduleDefinition = {
  /** Schedules belong to a tenant, like the jobs they make; the tenant's API keys see them. */
  tenant: string;
  /** Unique per tenant: the upsert finds the stored schedule by this name. */
  name: string;
  cron: string;
  timezone?: string;
  type: string;
  payload?: unknown;
  jobOptions?: ScheduleJobOptions;
  /** Only used when the schedule is first created; a pause made through the API survives deploys. */
  enabled?: boolean;
  catchUp?: CatchUp;
};

export type DeclaredSchedule = CreateScheduleInput & { tenant: string };

/** Validates like POST /v1/schedules and throws at startup, so a bad declaration never deploys silently. */
export function defineSchedule(definition: ScheduleDefinition): DeclaredSchedule {
  const { tenant, ...rest } = definition;
  const where = `schedule "${definition.name}"`;
  const tenantOk = TenantSchema.safeParse(tenant);
  if (!tenantOk.success) throw new Error(`${where}: tenant ${tenantOk.error.issues[0]?.message}`);
  const parsed = CreateScheduleSchema.safeParse(rest);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`${where}: ${issues.join("; ")}`);
  }
  return { ...parsed.data, tenant, timezone: canonicalTimezone(parsed.data.timezone) ?? parsed.data.timezone };
}

/** Checks declared schedules against the job types of this Worker: the type exists and takes the payload. */
export function checkDeclaredSchedules(declared: readonly DeclaredSchedule[], registry: JobRegistry): void {
  const seen = new Set<string>();
  for (const schedule of declared) {
    const where = `schedule "${schedule.name}" of tenant "${schedule.tenant}"`;
    const key = `${schedule.tenant}/${schedule.name}`;
    if (seen.has(key)) throw new Error(`${where} is declared twice`);
    seen.add(key);
    const definition = registry.get(schedule.type);
    if (!definition) throw new Error(`${where}: unknown job type "${schedule.type}"`);
    const payload = definition.input.safeParse(schedule.payload ?? {});
    if (!payload.success) {
      throw new Error(`${where}: payload does not match job type "${schedule.type}": ${payload.error.message}`);
    }
  }
}
