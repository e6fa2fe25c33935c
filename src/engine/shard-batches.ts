// A delivered batch split by the shard its messages name (src/core/shards.ts): each part runs on its own shard's
// env, so the consumer never looks a tenant up. With one shard every message is DB's and the batch stays whole.
import { shardOfBody } from "../core/shards";

/** The batch's messages grouped by shard, each group a batch of its own (same queue, its own ackAll/retryAll). */
export function splitByShard<T>(batch: MessageBatch<T>): Map<string, MessageBatch<T>> {
  const groups = new Map<string, Message<T>[]>();
  for (const message of batch.messages) {
    const shard = shardOfBody(message.body);
    const group = groups.get(shard);
    if (group) group.push(message);
    else groups.set(shard, [message]);
  }
  const batches = new Map<string, MessageBatch<T>>();
  if (groups.size === 1) {
    for (const shard of groups.keys()) batches.set(shard, batch);
    return batches;
  }
  for (const [shard, messages] of groups) batches.set(shard, partOf(batch, messages));
  return batches;
}

/** Some of a batch's messages as a batch (named fields: a runtime batch keeps them on its prototype, not spreadable). */
export function partOf<T>(batch: MessageBatch<T>, messages: readonly Message<T>[]): MessageBatch<T> {
  return {
    queue: batch.queue,
    metadata: batch.metadata,
    messages,
    ackAll: () => {
      for (const message of messages) message.ack();
    },
    retryAll: (options) => {
      for (const message of messages) message.retry(options);
    },
  };
}
