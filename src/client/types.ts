// Friendly names for the contract's shapes; every one comes from the generated openapi-types.ts.
import type { components, paths } from "./openapi-types";

type Schemas = components["schemas"];

export type Job = Schemas["Job"];
export type JobDetail = Schemas["JobDetail"];
export type JobStatus = Schemas["JobStatus"];
export type JobPage = Schemas["JobPage"];
/** A workflow step of a job (GET /v1/jobs/:id `steps`). */
export type Step = Schemas["Step"];
/** What a `waiting` job is parked on: a sleep, an event, child jobs (null when it is not waiting). */
export type WaitingFor = NonNullable<Schemas["WaitingFor"]>;
export type EnqueueRequest = Schemas["EnqueueRequest"];
export type ApiErrorBody = Schemas["Error"];
export type ErrorCode = ApiErrorBody["error"]["code"];
export type Issue = NonNullable<ApiErrorBody["error"]["issues"]>[number];
export type FlowStatus = Schemas["FlowStatus"];
export type Metrics = Schemas["Metrics"];
export type Schedule = Schemas["Schedule"];
export type SchedulePage = Schemas["SchedulePage"];
export type CreateScheduleRequest = Schemas["CreateScheduleRequest"];
export type UpdateScheduleRequest = Schemas["UpdateScheduleRequest"];
export type WebhookSecret = Schemas["WebhookSecret"];
export type DeadRetryRequest = Schemas["DeadRetryRequest"];
/** POST /v1/events: `{name, key?, data?}`; it completes the tenant's matching waitForEvent waits. */
export type SendEventRequest = Schemas["SendEventRequest"];
/** `{id, matched, more}`: how many waits the event completed, and whether the call stopped at its cap. */
export type SentEvent = Schemas["SentEvent"];
/** A registered job type (GET /v1/job-types): defaults, lane, paused for this tenant, payload JSON Schema. */
export type JobType = Schemas["JobType"];
export type Batch = Schemas["Batch"];
export type BatchWithJobs = Schemas["BatchWithJobs"];
export type BatchPage = Schemas["BatchPage"];
export type BatchStatus = Schemas["BatchStatus"];
export type CreateBatchRequest = Schemas["CreateBatchRequest"];

export type ListJobsQuery = Omit<NonNullable<paths["/v1/jobs"]["get"]["parameters"]["query"]>, "cursor">;
export type ListDeadQuery = Omit<NonNullable<paths["/v1/dead"]["get"]["parameters"]["query"]>, "cursor">;
export type ListSchedulesQuery = Omit<NonNullable<paths["/v1/schedules"]["get"]["parameters"]["query"]>, "cursor">;
export type ListBatchesQuery = Omit<NonNullable<paths["/v1/batches"]["get"]["parameters"]["query"]>, "cursor">;
