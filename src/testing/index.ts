// `edge-jobs/testing`: helpers for an app's own @cloudflare/vitest-plugin tests of its job types.
export {
  InvalidPayloadError,
  type JobError,
  type JobOutcome,
  type RunJobOptions,
  runJob,
} from "./run-job";
