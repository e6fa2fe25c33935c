// Turns one fire of a schedule into the job row to insert, under the same rules as POST /v1/jobs.

import { DEFAULT_BACKOFF, DEFAULT_TIMEOUT_SECONDS } from "../contract/job";
import type { EnqueueInput, ScheduleJobOptions } from "../contract/schemas";
import { configOf, shardNameOf } from "../core/config";
import { PayloadTooLargeError, PayloadValidationError, UnknownJobTypeError } from "../core/enqueue-errors";
import { newId } from "../core/ids";
import { needsWatch } from "../core/rescue-window";
import type { NewJob } from "../db/jobs";
import type { ScheduleRow } from "../db/schema";
import { buildJobRow, type EnqueueContext } from "./enqueue";

type ScheduleJobFields = Pick<ScheduleRow, "id" | "type" | "payload" | "jobOptions">;

/** What a fire enqueues: the schedule's type, payload and options, tagged with the schedule's id. */
export function scheduleInput(schedule: ScheduleJobFields): EnqueueInput {
  const options = JSON.parse(schedule.jobOptions) as ScheduleJobOptions;
  return {
    type: schedule.type,
    payload: JSON.parse(schedule.payload),
    ...options,
    metadata: { ...options.metadata, scheduleId: schedule.id },
  };
}

/**
 * The job id of the fire of `scheduleId` at `fireTime`: the time part is the fire time (ids stay
 * time-sortable) and the rest is a hash of the schedule id. Every tick that handles this fire
 * derives the same id, so the insert's ON CONFLICT DO NOTHING collapses repeats in D1 itself.
 */
export async function fireJobId(scheduleId: string, fireTime: number): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scheduleId));
  return newId("job", fireTime, new Uint8Array(digest).subarray(0, 16));
}

/**
 * The row for one fire. A fire the enqueue rules refuse (its type left the deployment, its payload
 * no longer matches the type's schema) still becomes a row, a dead one carrying the reason, so the
 * miss shows in the dead-letter view instead of vanishing.
 */
export async function fireRow(schedule: ScheduleRow, fireTime: number, ctx: EnqueueContext): Promise<NewJob> {
  const id = await fireJobId(schedule.id, fireTime);
  const input = { ...scheduleInput(schedule), runAt: new Date(fireTime).toISOString() };
  try {
    const row = buildJobRow(input, ctx);
    // The outbox rescue scans recent ids; a fire caught up from longer ago is watched by index instead.
    return { ...row, id, outbox: needsWatch(id, ctx.now) ? 1 : row.outbox };
  } catch (err) {
    if (
      !(
        err instanceof UnknownJobTypeError ||
        err instanceof PayloadValidationError ||
        err instanceof PayloadTooLargeError
      )
    ) {
      throw err;
    }
    const at = new Date(ctx.now).toISOString();
    return {
      tenantId: schedule.tenantId,
      id,
      type: schedule.type,
      status: "dead",
      payload: schedule.payload,
      error: JSON.stringify({
        message: `schedule fire refused: ${err.message}`,
        name: "ScheduleFireError",
        attempt: 0,
        at,
      }),
      attempts: 0,
      maxAttempts: 1,
      options: JSON.stringify({ backoff: DEFAULT_BACKOFF, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS }),
      runAt: fireTime,
      createdAt: ctx.now,
      updatedAt: ctx.now,
      finishedAt: ctx.now,
      metadata: JSON.stringify(input.metadata),
    };
  }
}

/** The context buildJobRow needs, from the Worker's bindings and configuration. */
export function fireContext(
  env: Env,
  base: Pick<EnqueueContext, "db" | "queue" | "registry" | "log" | "now">,
  tenant: string,
): EnqueueContext {
  return {
    ...base,
    tenant,
    payloadLimitBytes: configOf(env).payloadLimitBytes,
    allowPrivateTargets: configOf(env).allowPrivateTargets,
    lanes: configOf(env).lanes,
    shard: shardNameOf(env),
  };
}
