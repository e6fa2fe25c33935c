// Batch progress, pure parts: which batches a set of finished rows touches, and what a committed recount says to send.
import { describe, expect, it } from "vitest";
import { finisherJobId } from "../../src/db/batch-statements";
import { sendsOf, touchedBatches } from "../../src/service/batch-progress";

describe("touchedBatches", () => {
  it("groups a wave's rows into one entry per (tenant, batch), first seen first, and skips rows outside any batch", () => {
    const rows = [
      { tenantId: "t1", batchId: "bat_A" },
      { tenantId: "t1", batchId: null },
      { tenantId: "t2", batchId: "bat_A" },
      { tenantId: "t1", batchId: "bat_A" },
      { tenantId: "t1", batchId: "bat_B" },
      ...Array.from({ length: 97 }, () => ({ tenantId: "t1", batchId: "bat_B" })),
    ];
    expect(touchedBatches(rows)).toEqual([
      { tenant: "t1", batchId: "bat_A" },
      { tenant: "t2", batchId: "bat_A" },
      { tenant: "t1", batchId: "bat_B" },
    ]);
    expect(touchedBatches([{ tenantId: "t1", batchId: null }])).toEqual([]);
  });
});

describe("sendsOf", () => {
  const result = (results: unknown[]) => ({ results, success: true, meta: {} }) as unknown as D1Result;
  it("sends the finishers that were inserted and the callbacks of the batches that finished in this commit", () => {
    const sends = sendsOf([
      // batch 1: recounted, finished, has a callback; its onComplete was inserted, no onSuccess
      result([]),
      result([{ tenant: "t", id: "bat_1", status: "completed", callbackUrl: "https://x" }]),
      result([{ tenantId: "t", id: "job_1C", runAt: 5 }]),
      result([]),
      // batch 2: recounted but not finished: nothing to send
      result([]),
      result([]),
      result([]),
      result([]),
      // batch 3: finished without a callback URL; both finishers
      result([]),
      result([{ tenant: "t", id: "bat_3", status: "succeeded", callbackUrl: null }]),
      result([{ tenantId: "t", id: "job_3C", runAt: 5 }]),
      result([{ tenantId: "t", id: "job_3S", runAt: 5 }]),
    ]);
    expect(sends.callbacks).toEqual([{ tenant: "t", id: "bat_1" }]);
    expect(sends.finishers.map((f) => f.id)).toEqual(["job_1C", "job_3C", "job_3S"]);
    expect(sendsOf([undefined, undefined, undefined, undefined])).toEqual({ finishers: [], callbacks: [] });
  });
});

describe("finisherJobId", () => {
  it("derives two distinct job ids shaped like any job id (cursor-safe) from the batch id", () => {
    const batchId = "bat_01JABCDEFGHJKMNPQRSTVWXYZ0";
    const ids = [finisherJobId(batchId, "onComplete"), finisherJobId(batchId, "onSuccess")];
    for (const id of ids) expect(id).toMatch(/^job_[0-9A-Z]{26}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[0]?.slice(4, 29)).toBe(batchId.slice(4, 29));
  });
});
