// /v1/schedules: recurring jobs — create, list, read, change (pause/resume), delete, run now.
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { canonicalTimezone } from "../../contract/cron-rules";
import { ApiError, notFound } from "../../contract/errors";
import {
  CreateScheduleSchema,
  JobSchema,
  ListSchedulesQuery,
  ScheduleIdParam,
  SchedulePageSchema,
  ScheduleSchema,
  UpdateScheduleSchema,
} from "../../contract/schemas";
import { nextFire } from "../../core/cron";
import { newId } from "../../core/ids";
import { insertJob, rowToJob, type Statement } from "../../db/jobs";
import {
  deleteSchedule,
  getSchedule,
  insertSchedule,
  isNameTaken,
  listSchedules,
  markRunStatement,
  rowToSchedule,
  type ScheduleChanges,
  updateSchedule,
} from "../../db/schedules";
import type { JobRow, ScheduleRow } from "../../db/schema";
import { buildJobRow, sendMessages } from "../../service/enqueue";
import { scheduleInput } from "../../service/fire-row";
import type { AppEnv } from "../app-env";
import { tenantOf } from "../auth";
import { errorResponses, jsonBody, jsonContent } from "../openapi";
import { enqueueContext } from "../request-context";

const tags = ["schedules"];

const createScheduleRoute = createRoute({
  method: "post",
  path: "/v1/schedules",
  tags,
  summary: "Create a recurring schedule",
  request: { body: jsonBody(CreateScheduleSchema) },
  responses: {
    201: jsonContent(ScheduleSchema, "Created"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/schedules",
  tags,
  summary: "List schedules, newest first",
  request: { query: ListSchedulesQuery },
  responses: { 200: jsonContent(SchedulePageSchema, "A page of schedules"), ...errorResponses(400, 401, 403) },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/schedules/{id}",
  tags,
  summary: "Get a schedule",
  request: { params: ScheduleIdParam },
  responses: { 200: jsonContent(ScheduleSchema, "The schedule"), ...errorResponses(401, 403, 404) },
});

const patchRoute = createRoute({
  method: "patch",
  path: "/v1/schedules/{id}",
  tags,
  summary: "Change a schedule; enabled: false pauses it, enabled: true resumes it from the next fire time",
  request: { params: ScheduleIdParam, body: jsonBody(UpdateScheduleSchema) },
  responses: {
    200: jsonContent(ScheduleSchema, "The changed schedule"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422),
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/schedules/{id}",
  tags,
  summary: "Delete a schedule (jobs it already made stay)",
  request: { params: ScheduleIdParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

const runRoute = createRoute({
  method: "post",
  path: "/v1/schedules/{id}/run",
  tags,
  summary: "Enqueue the schedule's job now, outside its cron (works while paused)",
  request: { params: ScheduleIdParam },
  responses: {
    202: jsonContent(JobSchema, "The job, committed and queued"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

type JobFields = Pick<ScheduleRow, "id" | "type" | "payload" | "jobOptions">;

/** Dry-runs the enqueue rules on what a fire would send: unknown type → 422, bad payload → 400, too big → 413. */
function checkFireInput(c: Context<AppEnv>, schedule: JobFields) {
  buildJobRow(scheduleInput(schedule), enqueueContext(c));
}

const nameTaken = (name: string) => new ApiError("conflict", `a schedule named "${name}" already exists`);

export function registerScheduleRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(createScheduleRoute, async (c) => {
    const input = c.req.valid("json");
    const tenant = tenantOf(c);
    const now = Date.now();
    const id = newId("sch", now);
    const timezone = canonicalTimezone(input.timezone) ?? input.timezone;
    const fields = {
      type: input.type,
      payload: JSON.stringify(input.payload ?? {}),
      jobOptions: JSON.stringify(input.jobOptions),
    };
    checkFireInput(c, { id, ...fields });
    const row = await insertSchedule(c.var.db, {
      tenantId: tenant,
      id,
      name: input.name,
      cron: input.cron,
      timezone,
      ...fields,
      enabled: input.enabled ? 1 : 0,
      catchUp: input.catchUp,
      nextRunAt: input.enabled ? nextFire({ cron: input.cron, timezone }, now) : null,
      createdAt: now,
      updatedAt: now,
    });
    if (!row) throw nameTaken(input.name);
    c.var.log.info("schedule created", { scheduleId: row.id, type: row.type, cron: row.cron, timezone });
    return c.json(rowToSchedule(row), 201);
  });

  app.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listSchedules(c.var.db, tenantOf(c), query);
    return c.json(
      {
        data: rows.slice(0, query.limit).map(rowToSchedule),
        nextCursor: rows.length > query.limit ? (rows[query.limit - 1]?.id ?? null) : null,
      },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    const row = await getSchedule(c.var.db, tenantOf(c), c.req.valid("param").id);
    if (!row) throw notFound("schedule");
    return c.json(rowToSchedule(row), 200);
  });

  app.openapi(patchRoute, async (c) => {
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const tenant = tenantOf(c);
    const current = await getSchedule(c.var.db, tenant, id);
    if (!current) throw notFound("schedule");
    const now = Date.now();
    const timezone =
      patch.timezone === undefined ? current.timezone : (canonicalTimezone(patch.timezone) ?? patch.timezone);
    const cron = patch.cron ?? current.cron;
    const enabled = patch.enabled ?? current.enabled === 1;
    const fields = {
      type: patch.type ?? current.type,
      payload: "payload" in patch ? JSON.stringify(patch.payload ?? {}) : current.payload,
      jobOptions: patch.jobOptions === undefined ? current.jobOptions : JSON.stringify(patch.jobOptions),
    };
    checkFireInput(c, { id, ...fields });

    // Resuming, or a new cron or zone, starts from the next fire time after now: a pause never bursts.
    const restart = cron !== current.cron || timezone !== current.timezone || current.enabled !== 1;
    const changes: ScheduleChanges = {
      ...fields,
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.catchUp === undefined ? {} : { catchUp: patch.catchUp }),
      cron,
      timezone,
      enabled: enabled ? 1 : 0,
      ...(!enabled ? { nextRunAt: null } : restart ? { nextRunAt: nextFire({ cron, timezone }, now) } : {}),
      updatedAt: now,
    };
    let row: ScheduleRow | undefined;
    try {
      row = await updateSchedule(c.var.db, tenant, id, changes);
    } catch (err) {
      if (isNameTaken(err)) throw nameTaken(patch.name ?? current.name);
      throw err;
    }
    if (!row) throw notFound("schedule");
    c.var.log.info("schedule changed", { scheduleId: id, enabled, fields: Object.keys(patch) });
    return c.json(rowToSchedule(row), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteSchedule(c.var.db, tenantOf(c), id))) throw notFound("schedule");
    c.var.log.info("schedule deleted", { scheduleId: id });
    return c.body(null, 204);
  });

  app.openapi(runRoute, async (c) => {
    const { id } = c.req.valid("param");
    const tenant = tenantOf(c);
    const schedule = await getSchedule(c.var.db, tenant, id);
    if (!schedule) throw notFound("schedule");
    const ctx = enqueueContext(c);
    const planned = buildJobRow(scheduleInput(schedule), ctx);
    // The job and the schedule's lastRunAt commit together; then the message goes out.
    const [inserted] = await c.var.db.batch([
      insertJob(c.var.db, planned).returning(),
      markRunStatement(c.var.db, tenant, id, ctx.now),
    ] as unknown as [Statement, Statement]);
    const [row] = inserted as JobRow[];
    if (!row) throw new Error("the run-now insert returned no row");
    if (row.status === "queued") await sendMessages(ctx.queue, [row], ctx.now, c.var.log);
    c.var.log.info("schedule run now", { scheduleId: id, jobId: row.id, type: row.type, status: row.status });
    return c.json(rowToJob(row), 202);
  });
}
