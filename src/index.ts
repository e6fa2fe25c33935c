// Worker entry: the HTTP API, the queue consumers and the cron tick.
import { tasks } from "./tasks";
import { createWorker } from "./worker";

const worker = createWorker({ jobs: tasks });

export default {
  fetch: worker.fetch,
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;

export { KeyGate } from "./gate/key-gate";
export { defineJob } from "./jobs/define-job";
export { NonRetryableError, RetryAfterError } from "./jobs/errors";
export { defineSchedule } from "./scheduler/define-schedule";
