import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { enqueue, newTenant } from "../fixtures/api";
import worker from "../fixtures/worker";

const tick = (scheduledTime: number) =>
  worker.scheduled(createScheduledController({ scheduledTime }), env, createExecutionContext());

describe("the tick's housekeeping", () => {
  it("deletes per-minute counters older than a day and keeps recent ones", async () => {
    const { tenant } = await newTenant("counters");
    const minute = Math.floor(Date.now() / 60_000);
    for (const m of [minute - 2 * 24 * 60, minute - 5]) {
      await env.DB.prepare(
        "INSERT INTO metrics_minute (tenant_id, minute, type, succeeded) VALUES (?, ?, 'test-echo', 1)",
      )
        .bind(tenant, m)
        .run();
    }
    await tick(Date.now());
    const { results } = await env.DB.prepare("SELECT minute FROM metrics_minute WHERE tenant_id = ?")
      .bind(tenant)
      .all<{ minute: number }>();
    expect(results.map((r) => r.minute)).toEqual([minute - 5]);
  });

  it("re-sends the callback of a finished job whose callback message was lost", async () => {
    const { key, tenant } = await newTenant("lost-callback");
    // The receiver is a closed loopback port: the re-sent delivery runs and records a failed attempt.
    const job = await enqueue(key, { type: "test-echo", delaySeconds: 3600, callbackUrl: "http://127.0.0.1:9/hook" });
    const finishedAt = Date.now() - 10 * 60_000;
    const pending = {
      status: "pending",
      event: "job.succeeded",
      webhookId: "msg_lost",
      attempts: 0,
      lastStatus: null,
      lastError: null,
      lastAttemptAt: null,
      nextAttemptAt: null,
      deliveredAt: null,
    };
    await env.DB.prepare(
      "UPDATE jobs SET status = 'succeeded', run_at = ?, finished_at = ?, attempts = 1, callback_state = ? WHERE tenant_id = ? AND id = ?",
    )
      .bind(finishedAt, finishedAt, JSON.stringify(pending), tenant, job.id)
      .run();

    await tick(Date.now());
    const deadline = Date.now() + 15_000;
    let state: { attempts: number; webhookId: string } = { attempts: 0, webhookId: "" };
    while (Date.now() < deadline && state.attempts === 0) {
      const row = await env.DB.prepare("SELECT callback_state FROM jobs WHERE tenant_id = ? AND id = ?")
        .bind(tenant, job.id)
        .first<{ callback_state: string }>();
      state = JSON.parse(row?.callback_state ?? "{}");
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state.attempts).toBeGreaterThanOrEqual(1);
    expect(state.webhookId).toBe("msg_lost");
  });
});
