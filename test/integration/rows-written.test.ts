import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/jobs/define-job";
import type { JobMessage } from "../../src/jobs/types";
import { consumeJobs } from "../../src/queue/consumer";
import { tasks } from "../../src/tasks";
import { ADMIN_TOKEN, call } from "../fixtures/api";
import { meteredD1 } from "../fixtures/metered-d1";
import { testJobs } from "../fixtures/test-jobs";
import worker from "../fixtures/worker";

/** Keeps the messages instead of sending them, so this test drives the consumer itself on the metered database. */
function capturingQueue() {
  const sent: { body: JobMessage }[] = [];
  const queue = {
    async send(body: JobMessage) {
      sent.push({ body });
    },
    async sendBatch(messages: Iterable<{ body: JobMessage }>) {
      for (const m of messages) sent.push({ body: m.body });
    },
    async metrics() {
      return { backlogCount: sent.length, backlogBytes: 0 };
    },
  };
  return { queue: queue as unknown as Queue, sent };
}

describe("D1 rows written per job (our main cost)", () => {
  it("counts rows for enqueue, claim and success of a plain job", async () => {
    const keyRes = await call<{ key: string }>("POST", "/v1/keys", {
      token: ADMIN_TOKEN,
      body: { tenant: "meter", name: "m" },
    });
    const { db, meter } = meteredD1(env.DB);
    const { queue, sent } = capturingQueue();
    const meteredEnv = { ...env, DB: db, JOBS_QUEUE: queue };

    const enqueueRes = await worker.fetch(
      new Request("http://x/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${keyRes.body.key}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "test-echo", payload: { value: 1 } }),
      }),
      meteredEnv,
      createExecutionContext(),
    );
    expect(enqueueRes.status).toBe(202);
    const enqueueRows = meter.rowsWritten;
    expect(sent).toHaveLength(1);

    const batch = createMessageBatch<JobMessage>(
      "jobs",
      sent.map((m, i) => ({ id: `m${i}`, timestamp: Date.now(), attempts: 1, body: m.body })),
    );
    await consumeJobs(batch, meteredEnv, createRegistry([...tasks, ...testJobs]));
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks).toEqual(["m0"]);
    const consumeRows = meter.rowsWritten - enqueueRows;

    expect(meter.unmeteredWrites).toEqual([]);
    // One WITHOUT ROWID row on insert, one update to claim, one to finish: no index is touched.
    expect({ enqueueRows, consumeRows }).toEqual({ enqueueRows: 1, consumeRows: 2 });
    console.info(JSON.stringify({ rowsWrittenPerPlainJob: { enqueueRows, consumeRows } }));
  });
});
