// `edge-jobs/client`: the typed HTTP client, its error type and the contract's shapes.
export { JobsApiError } from "./errors";
export { createJobsClient, type EnqueueOptions, type JobsClient, type JobsClientOptions } from "./jobs-client";
export type * from "./types";
