// A workflow job's steps as the API shows them: job_steps rows of one job, read on the cold path (GET /v1/jobs/:id).
import type { z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import type { StepSchema } from "../contract/schemas";
import { MAX_STEPS_PER_JOB } from "../core/steps";
import type { Db } from "./client";
import { type JobStepRow, jobSteps } from "./schema";

export type Step = z.infer<typeof StepSchema>;

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());
const parse = <T>(text: string | null, fallback: T): T => (text == null ? fallback : (JSON.parse(text) as T));

export function stepOf(row: JobStepRow): Step {
  const step: Step = {
    name: row.name,
    kind: row.kind as Step["kind"],
    status: row.status as Step["status"],
    result: parse(row.result, null),
    error: parse<Step["error"]>(row.error, null),
    startedAt: iso(row.startedAt) as string,
    finishedAt: iso(row.finishedAt),
  };
  // Only invoke steps name a child; the field is left out elsewhere rather than null.
  if (row.childId != null) step.childId = row.childId;
  return step;
}

/** The job's steps, oldest first (then by name, for steps started in the same millisecond); never more than a job may record. */
export async function readSteps(db: Db, tenant: string, jobId: string): Promise<Step[]> {
  const rows = await db
    .select()
    .from(jobSteps)
    .where(and(eq(jobSteps.tenantId, tenant), eq(jobSteps.jobId, jobId)))
    .orderBy(asc(jobSteps.startedAt), asc(jobSteps.name))
    .limit(MAX_STEPS_PER_JOB);
  return rows.map(stepOf);
}
