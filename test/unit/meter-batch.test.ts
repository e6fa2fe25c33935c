import { describe, expect, it } from "vitest";
import { meterBatch, skipQueueMeter } from "../../src/metering/queue";

function fakeBatch(ids: string[]) {
  const calls: string[] = [];
  const messages = ids.map((id, i) => ({
    id,
    timestamp: new Date(0),
    body: { n: i },
    attempts: i + 1,
    ack: () => calls.push(`ack ${id}`),
    retry: (o?: QueueRetryOptions) => calls.push(`retry ${id} ${o?.delaySeconds ?? ""}`.trim()),
  }));
  const batch: MessageBatch<{ n: number }> = {
    messages,
    queue: "jobs",
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } as unknown as MessageBatchMetadata,
    ackAll: () => calls.push("ackAll"),
    retryAll: () => calls.push("retryAll"),
  };
  return { batch, calls };
}

describe("meterBatch", () => {
  it("counts each message's first outcome and passes every call through", () => {
    const { batch, calls } = fakeBatch(["a", "b", "c"]);
    const { batch: metered, usage } = meterBatch(batch);
    const [a, b] = metered.messages;
    expect(a?.body).toEqual({ n: 0 });
    expect(b?.attempts).toBe(2);
    expect(metered.queue).toBe("jobs");
    a?.ack();
    b?.retry({ delaySeconds: 5 });
    b?.ack(); // the queue keeps the first decision; so does the count
    metered.ackAll(); // only "c" is still open
    expect(usage).toEqual({ delivered: 3, acked: 2, retried: 1 });
    expect(calls).toEqual(["ack a", "retry b 5", "ack b", "ackAll"]);
  });

  it("wraps each message once, on first read", () => {
    const { batch } = fakeBatch(["a", "b"]);
    const { batch: metered } = meterBatch(batch);
    expect(metered.messages).toBe(metered.messages);
    expect(metered.messages[0]).not.toBe(batch.messages[0]);
  });

  it("hands out the messages themselves when the invocation will not log the usage", () => {
    const { batch, calls } = fakeBatch(["a", "b"]);
    const { batch: metered, usage } = meterBatch(batch);
    skipQueueMeter(usage);
    expect(metered.messages).toBe(batch.messages);
    metered.messages[0]?.ack();
    metered.retryAll();
    expect(calls).toEqual(["ack a", "retryAll"]);
  });
});
