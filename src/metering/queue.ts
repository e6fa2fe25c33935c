// Counts what a consumer does with each delivered message, so queue operations can be priced from logs.
export type QueueUsage = { delivered: number; acked: number; retried: number };

type Settle = (id: string, kind: "acked" | "retried") => void;

/** A delivered message that reports its ack or retry. A plain class, not a Proxy: the consumer reads these per job. */
class MeteredMessage<T> implements Message<T> {
  constructor(
    private readonly inner: Message<T>,
    private readonly settle: Settle,
  ) {}
  get id() {
    return this.inner.id;
  }
  get timestamp() {
    return this.inner.timestamp;
  }
  get body() {
    return this.inner.body;
  }
  get attempts() {
    return this.inner.attempts;
  }
  ack(): void {
    this.settle(this.inner.id, "acked");
    this.inner.ack();
  }
  retry(options?: QueueRetryOptions): void {
    this.settle(this.inner.id, "retried");
    this.inner.retry(options);
  }
}

/** Usages nobody reads (the invocation line is not written): their batches hand out the messages unwrapped. */
const unread = new WeakSet<QueueUsage>();

/** Called by the invocation (src/metering/invocation.ts) before the handler runs, when it will not log `usage`. */
export function skipQueueMeter(usage: QueueUsage): void {
  unread.add(usage);
}

class MeteredBatch<T> implements MessageBatch<T> {
  private wrapped: readonly Message<T>[] | undefined;
  constructor(
    private readonly inner: MessageBatch<T>,
    private readonly settle: Settle,
    private readonly usage: QueueUsage,
  ) {}
  /** Wrapped on first read (one object per message), or not at all when the usage is never logged. */
  get messages(): readonly Message<T>[] {
    if (unread.has(this.usage)) return this.inner.messages;
    this.wrapped ??= this.inner.messages.map((message) => new MeteredMessage(message, this.settle));
    return this.wrapped;
  }
  get queue() {
    return this.inner.queue;
  }
  get metadata() {
    return this.inner.metadata;
  }
  ackAll(): void {
    for (const m of this.inner.messages) this.settle(m.id, "acked");
    this.inner.ackAll();
  }
  retryAll(options?: QueueRetryOptions): void {
    for (const m of this.inner.messages) this.settle(m.id, "retried");
    this.inner.retryAll(options);
  }
}

/**
 * Wraps a batch so ack()/retry() calls are counted. Billing: each message is written once, read once per
 * delivery and deleted once, so operations = 3 · delivered − 2 · retried.
 */
export function meterBatch<T>(batch: MessageBatch<T>): { batch: MessageBatch<T>; usage: QueueUsage } {
  const usage: QueueUsage = { delivered: batch.messages.length, acked: 0, retried: 0 };
  // The first call decides a message's fate, as the queue does.
  const settled = new Set<string>();
  const settle: Settle = (id, kind) => {
    if (settled.has(id)) return;
    settled.add(id);
    usage[kind]++;
  };
  return { batch: new MeteredBatch(batch, settle, usage), usage };
}
