// `edge-jobs/testing`: helpers for an app's own @cloudflare/vitest-plugin tests of its job types.

export type { MemoryStepOptions } from "./memory-steps";
export {
  InvalidPayloadError,
  type JobError,
  type JobOutcome,
  type RunJobOptions,
  runJob,
} from "./run-job";
