// The tick over several shards (issue #17): the cron invocation only sends one maintenance message per shard, and
// each shard's tick runs in the consumer invocation that receives its message, so no invocation does more than one
// shard's sweeps (D1's 1,000 queries per invocation are shared by every database the invocation touches).
import { jobQueueOf } from "../core/config";
import type { MaintenanceMessage } from "../core/shards";

/** A sendBatch takes at most 100 messages. */
const SEND_PAGE = 100;

/** One message per shard, on the default lane (the control env's queue stamps nothing: each body names its shard). */
export async function sendMaintenance(env: Env, shards: readonly string[], scheduledTime: number): Promise<number> {
  const queue = jobQueueOf(env);
  const bodies = shards.map((shard): MaintenanceMessage => ({ kind: "maintenance", shard, scheduledTime }));
  for (let i = 0; i < bodies.length; i += SEND_PAGE) {
    await queue.sendBatch(bodies.slice(i, i + SEND_PAGE).map((body) => ({ body })));
  }
  return bodies.length;
}
