// Composes the Worker's handlers from a list of job types, so a test or a user's entry can add its own.

import { configOf } from "./core/config";
import { createRegistry, type JobDefinition } from "./core/define-job";
import { checkTypeLanes, isDeadLetterQueue } from "./core/lanes";
import { registerDashboard } from "./dashboard";
import { consumeJobs } from "./engine/consumer";
import { consumeDeadLetters } from "./engine/dlq-consumer";
import { consumeShards } from "./engine/shard-consumer";
import { createApp } from "./http/app";
import { metered } from "./metering/invocation";
import { meterBatch } from "./metering/queue";
import { declaredScheduleSync } from "./scheduler/declared-schedules";
import { checkDeclaredSchedules, type DeclaredSchedule } from "./scheduler/define-schedule";
import { tick, tickShards } from "./scheduler/tick";

export function createWorker(options: { jobs: JobDefinition[]; schedules?: DeclaredSchedule[] }) {
  const registry = createRegistry(options.jobs);
  checkDeclaredSchedules(options.schedules ?? [], registry);
  const syncDeclared = declaredScheduleSync(options.schedules ?? []);
  const app = createApp(registry);
  // Each lane list (one per parsed config) is checked against the job types once.
  const checkedLanes = new WeakSet<readonly string[]>();
  const checkLanes = (env: Env) => {
    const { lanes } = configOf(env);
    if (checkedLanes.has(lanes)) return;
    checkTypeLanes(registry.values(), lanes);
    checkedLanes.add(lanes);
  };
  // Mounted here, not in http/: the dashboard calls the API in process, so it sits above it.
  registerDashboard(app);
  return {
    fetch: (request, env, ctx) => {
      checkLanes(env);
      return metered(
        { handler: "fetch", method: request.method, path: new URL(request.url).pathname },
        env,
        (meteredEnv) => Promise.resolve(app.fetch(request, meteredEnv, ctx)),
      );
    },
    queue: (batch, env, _ctx) => {
      checkLanes(env);
      const counted = meterBatch(batch);
      return metered(
        { handler: "queue", queue: batch.queue },
        env,
        (meteredEnv) =>
          consumeShards(counted.batch, meteredEnv, {
            // Each lane's consumer has its dead-letter queue (jobs-dlq, jobs-critical-dlq, …): all end in -dlq.
            jobs: (part, shardEnv) =>
              isDeadLetterQueue(batch.queue)
                ? consumeDeadLetters(part, shardEnv)
                : consumeJobs(part, shardEnv, registry),
            tick: (shardEnv, scheduledTime) => tick(shardEnv, scheduledTime, { registry, syncDeclared }),
          }),
        counted.usage,
      );
    },
    scheduled: (controller, env, _ctx) => {
      checkLanes(env);
      return metered({ handler: "scheduled" }, env, async (meteredEnv) => {
        // Several shards: each shard's tick runs in an invocation of its own, from a maintenance message.
        if (configOf(meteredEnv).shards.length > 1) await tickShards(meteredEnv, controller.scheduledTime);
        else await tick(meteredEnv, controller.scheduledTime, { registry, syncDeclared });
      });
    },
  } satisfies ExportedHandler<Env>;
}
