// Worker entry: the HTTP API, the queue consumers and the cron tick.
import { createJobsRpc } from "./rpc/jobs-rpc";
import { tasks } from "./tasks";
import { createWorker } from "./worker";

const worker = createWorker({ jobs: tasks });

export default {
  fetch: worker.fetch,
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;

export { KeyGate } from "./gate/key-gate";
/** Enqueue from another Worker through a service binding (README: "Use from another Worker"). */
export class JobsRpc extends createJobsRpc(tasks) {}
export { defineJob } from "./jobs/define-job";
export { NonRetryableError, RetryAfterError } from "./jobs/errors";
export type { JobsRpcProps } from "./rpc/jobs-rpc";
export { defineSchedule } from "./scheduler/define-schedule";
