// One delivered batch over shards: each shard's messages run on that shard's env, at most one shard's tick per
// invocation (each tick is bounded, and D1's queries per invocation are shared by every database it touches).
import { jobQueueOf, shardEnvOf, UnknownShardError } from "../core/config";
import { describeError } from "../core/errors";
import { log } from "../core/logger";
import { isMaintenanceMessage, type MaintenanceMessage } from "../core/shards";
import { partOf, splitByShard } from "./shard-batches";

/** A shard named by no binding: its messages come back later (a deploy that drops a binding needs fixing first). */
const UNKNOWN_SHARD_RETRY_SECONDS = 300;

export type ShardWork = {
  jobs: (batch: MessageBatch<unknown>, env: Env) => Promise<void>;
  tick: (env: Env, scheduledTime: number) => Promise<unknown>;
};

export async function consumeShards(batch: MessageBatch<unknown>, env: Env, work: ShardWork): Promise<void> {
  const maintenance: Message<MaintenanceMessage>[] = [];
  const rest: Message<unknown>[] = [];
  for (const message of batch.messages) {
    if (isMaintenanceMessage(message.body)) maintenance.push(message as Message<MaintenanceMessage>);
    else rest.push(message);
  }
  const jobs = maintenance.length === 0 ? batch : partOf(batch, rest);
  const failures: unknown[] = [];
  const parts = [...splitByShard(jobs)].map(async ([shard, part]) => {
    let shardEnv: Env;
    try {
      shardEnv = shardEnvOf(env, shard);
    } catch (err) {
      if (!(err instanceof UnknownShardError)) throw err;
      log.error("messages of an unknown shard retried", { shard, messages: part.messages.length, error: err.message });
      for (const message of part.messages) message.retry({ delaySeconds: UNKNOWN_SHARD_RETRY_SECONDS });
      return;
    }
    await work.jobs(part, shardEnv);
  });
  for (const result of await Promise.allSettled(parts)) if (result.status === "rejected") failures.push(result.reason);
  if (maintenance.length > 0) await runMaintenance(maintenance, env, work);
  if (failures.length > 0) throw failures[0];
}

/** The first maintenance message's tick runs here; the others are sent again, each to get an invocation of its own. */
async function runMaintenance(messages: Message<MaintenanceMessage>[], env: Env, work: ShardWork): Promise<void> {
  const [first, ...others] = messages;
  if (!first) return;
  if (others.length > 0) {
    await jobQueueOf(env).sendBatch(others.map((message) => ({ body: message.body })));
    for (const message of others) message.ack();
  }
  const { shard, scheduledTime } = first.body;
  try {
    await work.tick(shardEnvOf(env, shard), scheduledTime);
  } catch (err) {
    // Every phase is idempotent and the next minute's tick runs them again: a retry would only pile up behind it.
    log.error("shard tick failed", { shard, scheduledTime, error: describeError(err).message });
  }
  first.ack();
}
