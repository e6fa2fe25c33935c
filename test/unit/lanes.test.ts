import { describe, expect, it } from "vitest";
import {
  checkTypeLanes,
  isDeadLetterQueue,
  isLaneName,
  LaneRouter,
  laneBinding,
  laneRouterOf,
  parseLanes,
} from "../../src/core/lanes";
import { messageFor } from "../../src/service/enqueue";

type Sent = { body: unknown; delaySeconds?: number };

function recordingQueue(): { queue: Queue<unknown>; sent: Sent[]; batches: number[] } {
  const sent: Sent[] = [];
  const batches: number[] = [];
  const queue = {
    async metrics() {
      return { backlogCount: sent.length, backlogBytes: 0 };
    },
    async send(body: unknown, options?: QueueSendOptions) {
      sent.push({ body, delaySeconds: options?.delaySeconds });
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    },
    async sendBatch(messages: Iterable<MessageSendRequest<unknown>>) {
      const list = [...messages];
      batches.push(list.length);
      for (const m of list) sent.push({ body: m.body, delaySeconds: m.delaySeconds });
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    },
  };
  return { queue: queue as unknown as Queue<unknown>, sent, batches };
}

describe("lane names and bindings", () => {
  it("always declares default, keeps the order given and drops repeats", () => {
    expect(parseLanes(undefined)).toEqual(["default"]);
    expect(parseLanes("")).toEqual(["default"]);
    expect(parseLanes("critical, bulk ,critical")).toEqual(["default", "critical", "bulk"]);
  });

  it("refuses a malformed lane name or one that looks like a dead-letter queue", () => {
    expect(() => parseLanes("default,Critical")).toThrow(/"Critical" is not a lane name/);
    expect(() => parseLanes("emails-dlq")).toThrow(/not ending in -dlq/);
    expect(isLaneName("bulk_exports-2")).toBe(true);
    expect(isLaneName("9lives")).toBe(false);
  });

  it("names each lane's producer binding and tells dead-letter queues apart by their suffix", () => {
    expect(laneBinding("default")).toBe("JOBS_QUEUE");
    expect(laneBinding("critical")).toBe("JOBS_QUEUE_CRITICAL");
    expect(laneBinding("bulk-exports")).toBe("JOBS_QUEUE_BULK_EXPORTS");
    expect(isDeadLetterQueue("jobs-dlq")).toBe(true);
    expect(isDeadLetterQueue("jobs-critical-dlq")).toBe(true);
    expect(isDeadLetterQueue("jobs-critical")).toBe(false);
  });

  it("fails loudly when a declared lane has no queue binding", () => {
    const { queue } = recordingQueue();
    expect(() => laneRouterOf({ JOBS_QUEUE: queue }, ["default", "critical"])).toThrow(/JOBS_QUEUE_CRITICAL/);
  });
});

describe("LaneRouter", () => {
  const now = 1_000_000;
  const row = (id: string, queue?: string) => ({ tenantId: "t", id, runAt: now, queue });

  it("puts no lane in a default-lane message (its bytes are as before lanes) and names any other lane", () => {
    expect(messageFor(row("a", "default"), now).body).toEqual({ tenant: "t", id: "a" });
    expect(messageFor(row("b"), now).body).toEqual({ tenant: "t", id: "b" });
    expect(messageFor(row("c", "critical"), now).body).toEqual({ tenant: "t", id: "c", queue: "critical" });
  });

  it("sends each message to its lane's queue: one sendBatch per lane, unknown bodies to default", async () => {
    const main = recordingQueue();
    const critical = recordingQueue();
    const router = new LaneRouter(
      new Map([
        ["default", main.queue],
        ["critical", critical.queue],
      ]),
      main.queue,
    );
    await router.sendBatch([row("a"), row("b", "critical"), row("c", "critical")].map((r) => messageFor(r, now)));
    await router.send({ kind: "callback", id: "x" });
    await router.sendBatch([messageFor(row("d", "critical"), now)]);
    expect(main.sent.map((m) => m.body)).toEqual([
      { tenant: "t", id: "a" },
      { kind: "callback", id: "x" },
    ]);
    expect(critical.sent.map((m) => (m.body as { id: string }).id)).toEqual(["b", "c", "d"]);
    expect(critical.batches).toEqual([2, 1]);
    expect(router.lanes).toEqual(["default", "critical"]);
    expect(await router.queueOf("critical").metrics()).toMatchObject({ backlogCount: 3 });
  });
});

describe("lanes and job types", () => {
  it("refuses two lanes that would share one binding", () => {
    expect(() => parseLanes("bulk-exports,bulk_exports")).toThrow(/share the binding JOBS_QUEUE_BULK_EXPORTS/);
  });

  it("accepts job types in declared lanes and names the first type whose lane is not declared", () => {
    const lanes = parseLanes("critical");
    expect(() => checkTypeLanes([{ type: "a" }, { type: "b", queue: "critical" }], lanes)).not.toThrow();
    expect(() => checkTypeLanes([{ type: "a" }, { type: "c", queue: "bulk" }], lanes)).toThrow(
      'job type "c" runs in lane "bulk", which LANES does not declare (default, critical)',
    );
  });
});
