// Builds the EnqueueContext in one place for HTTP, RPC and the scheduler, from the Worker's bindings and its config.
import type { JobMessage } from "../contract/job";
import { configOf } from "../core/config";
import type { EnqueueContext } from "./enqueue";

export function enqueueContextOf(
  env: Env,
  parts: Pick<EnqueueContext, "db" | "registry" | "tenant" | "log"> & Partial<Pick<EnqueueContext, "queue" | "now">>,
): EnqueueContext {
  const config = configOf(env);
  return {
    queue: env.JOBS_QUEUE as Queue<JobMessage>,
    now: Date.now(),
    gates: env.KEY_GATE,
    ...parts,
    payloadLimitBytes: config.payloadLimitBytes,
    allowPrivateTargets: config.allowPrivateTargets,
  };
}
