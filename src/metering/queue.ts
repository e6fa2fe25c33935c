// Counts what a consumer does with each delivered message, so queue operations can be priced from logs.
export type QueueUsage = { delivered: number; acked: number; retried: number };

/**
 * Wraps a batch so ack()/retry() calls are counted. Billing: each message is written once, read once per
 * delivery and deleted once, so operations = 3 · delivered − 2 · retried.
 */
export function meterBatch<T>(batch: MessageBatch<T>): { batch: MessageBatch<T>; usage: QueueUsage } {
  const usage: QueueUsage = { delivered: batch.messages.length, acked: 0, retried: 0 };
  const settled = new Set<string>();
  const settle = (id: string, kind: "acked" | "retried") => {
    if (settled.has(id)) return;
    settled.add(id);
    usage[kind]++;
  };
  const messages = batch.messages.map(
    (message) =>
      new Proxy(message, {
        get(target, prop) {
          if (prop === "ack")
            return () => {
              settle(target.id, "acked");
              target.ack();
            };
          if (prop === "retry")
            return (options?: QueueRetryOptions) => {
              settle(target.id, "retried");
              target.retry(options);
            };
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
  );
  const wrapped = new Proxy(batch, {
    get(target, prop) {
      if (prop === "messages") return messages;
      if (prop === "ackAll")
        return () => {
          for (const m of target.messages) settle(m.id, "acked");
          target.ackAll();
        };
      if (prop === "retryAll")
        return (options?: QueueRetryOptions) => {
          for (const m of target.messages) settle(m.id, "retried");
          target.retryAll(options);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { batch: wrapped, usage };
}
