// A batch's finisher job runs in its job type's lane: its row carries the lane, and its message goes to that lane.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Batch } from "../../src/contract/batches";
import { defineJob } from "../../src/core/define-job";
import { finisherJobId } from "../../src/db/batch-statements";
import { createWorker } from "../../src/worker";
import { newTenant } from "../fixtures/api";
import { defaultJobs } from "../fixtures/default-jobs";
import { capturingQueue } from "../fixtures/engine-doubles";
import { testJobs } from "../fixtures/test-jobs";

const report = defineJob({
  type: "bat-critical-report",
  queue: "critical",
  input: z.object({}).passthrough(),
  run: () => null,
});
const worker = createWorker({ jobs: [...defaultJobs, ...testJobs, report] });

describe("batch finishers and lanes", () => {
  it("the onComplete job of a type in the critical lane is inserted in that lane", async () => {
    const { key, tenant } = await newTenant("bat-lane");
    const { queue } = capturingQueue();
    const testEnv = { ...env, JOBS_QUEUE: queue };
    const post = async (path: string, body?: unknown) => {
      const res = await worker.fetch(
        new Request(`http://edge-jobs.test${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
        testEnv,
        createExecutionContext(),
      );
      return { status: res.status, body: (await res.json()) as Batch };
    };
    const created = await post("/v1/batches", {
      jobs: [{ type: "test-echo", payload: { value: 1 } }],
      onComplete: { type: "bat-critical-report" },
    });
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(202);
    // Cancelling its only job finishes it at once: the finisher is inserted then.
    expect((await post(`/v1/batches/${created.body.id}/cancel`)).body.status).toBe("completed");
    const row = await env.DB.prepare("SELECT type, queue FROM jobs WHERE tenant_id = ?1 AND id = ?2")
      .bind(tenant, finisherJobId(created.body.id, "onComplete"))
      .first<{ type: string; queue: string }>();
    expect(row).toEqual({ type: "bat-critical-report", queue: "critical" });
  });
});
