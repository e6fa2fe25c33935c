// Wraps a queue producer (and a delivered batch's retry calls) so sends production would refuse throw.
import type { InvocationBudget } from "./budget";
import { MESSAGE_METADATA_BYTES, type PlatformLimits } from "./platform-limits";
import { limitBroken } from "./violations";

/** A message's size as Queues counts it: the body's bytes (JSON; strings as UTF-8) plus its metadata. */
export function messageBytes(body: unknown): number {
  const text = typeof body === "string" ? body : (JSON.stringify(body) ?? "");
  return new TextEncoder().encode(text).byteLength + MESSAGE_METADATA_BYTES;
}

function checkDelay(delaySeconds: number | undefined, limits: PlatformLimits, what: string): void {
  if (delaySeconds !== undefined && delaySeconds > limits.delaySeconds) {
    throw limitBroken(`queue ${what} with delaySeconds ${delaySeconds}; production allows ${limits.delaySeconds}`);
  }
}

function checkMessage(body: unknown, limits: PlatformLimits): number {
  const size = messageBytes(body);
  if (size > limits.messageBytes) {
    throw limitBroken(`queue message of ${size} bytes; production allows ${limits.messageBytes}`);
  }
  return size;
}

export function guardQueue<Q extends Queue<unknown>>(queue: Q, budget: InvocationBudget): Q {
  const { limits } = budget;
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === "send")
        return (body: unknown, options?: QueueSendOptions) => {
          checkMessage(body, limits);
          checkDelay(options?.delaySeconds, limits, "send");
          budget.subrequests(1, "queue send");
          return target.send(body, options);
        };
      if (prop === "sendBatch")
        return (messages: Iterable<MessageSendRequest<unknown>>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          if (list.length > limits.batchMessages) {
            throw limitBroken(`sendBatch of ${list.length} messages; production allows ${limits.batchMessages}`);
          }
          let total = 0;
          for (const message of list) {
            total += checkMessage(message.body, limits);
            checkDelay(message.delaySeconds, limits, "sendBatch message");
          }
          if (total > limits.batchBytes) {
            throw limitBroken(`sendBatch of ${total} bytes; production allows ${limits.batchBytes}`);
          }
          checkDelay(options?.delaySeconds, limits, "sendBatch");
          budget.subrequests(1, "queue sendBatch");
          return target.sendBatch(list, options);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A delivered batch whose retry delays are checked (message.retry, retryAll). */
export function guardBatch<T>(batch: MessageBatch<T>, limits: PlatformLimits): MessageBatch<T> {
  const messages = batch.messages.map(
    (message) =>
      new Proxy(message, {
        get(target, prop) {
          if (prop === "retry")
            return (options?: QueueRetryOptions) => {
              checkDelay(options?.delaySeconds, limits, "retry");
              target.retry(options);
            };
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
  );
  return new Proxy(batch, {
    get(target, prop) {
      if (prop === "messages") return messages;
      if (prop === "retryAll")
        return (options?: QueueRetryOptions) => {
          checkDelay(options?.delaySeconds, limits, "retryAll");
          target.retryAll(options);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
