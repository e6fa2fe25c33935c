// Composes the Worker's handlers from a list of job types, so a test or a user's entry can add its own.
import { createApp } from "./http/app";
import { createRegistry, type JobDefinition } from "./jobs/define-job";
import { consumeJobs } from "./queue/consumer";
import { consumeDeadLetters } from "./queue/dlq-consumer";
import { declaredScheduleSync } from "./scheduler/declared-schedules";
import { checkDeclaredSchedules, type DeclaredSchedule } from "./scheduler/define-schedule";
import { tick } from "./scheduler/tick";

export const DEAD_LETTER_QUEUE = "jobs-dlq";

export function createWorker(options: { jobs: JobDefinition[]; schedules?: DeclaredSchedule[] }) {
  const registry = createRegistry(options.jobs);
  checkDeclaredSchedules(options.schedules ?? [], registry);
  const syncDeclared = declaredScheduleSync(options.schedules ?? []);
  const app = createApp(registry);
  return {
    fetch: app.fetch,
    async queue(batch, env, _ctx) {
      if (batch.queue === DEAD_LETTER_QUEUE) await consumeDeadLetters(batch, env);
      else await consumeJobs(batch, env, registry);
    },
    async scheduled(controller, env, _ctx) {
      await tick(env, controller.scheduledTime, { registry, syncDeclared });
    },
  } satisfies ExportedHandler<Env>;
}
