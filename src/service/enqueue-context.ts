import { configOf, jobQueueOf, shardNameOf } from "../core/config";
import type { EnqueueContext } from "./enqueue";

export function enqueueContextOf(
  env: Env,
  parts: Pick<EnqueueContext, "db" | "registry" | "tenant" | "log"> & Partial<Pick<EnqueueContext, "queue" | "now">>,
): EnqueueContext {
  const config = configOf(env);
  return {
    queue: jobQueueOf(env),
    lanes: config.lanes,
    shard: shardNameOf(env),
    now: Date.now(),
    gates: env.KEY_GATE,
    ...parts,
    payloadLimitBytes: config.payloadLimitBytes,
    allowPrivateTargets: config.allowPrivateTargets,
  };
}
