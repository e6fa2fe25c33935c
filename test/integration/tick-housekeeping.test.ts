import { createExecutionContext, createMessageBatch, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverCallbacks } from "../../src/webhooks/callbacks";
import { enqueue, newTenant } from "../fixtures/api";
import { seedJobs } from "../fixtures/seed";
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

  it("watches a callback whose next attempt waits past the rescue window, and re-sends it when that message is lost", async () => {
    const { tenant } = await newTenant("late-callback");
    const now = Date.now();
    const state = (attempts: number) =>
      JSON.stringify({
        status: "pending",
        event: "job.succeeded",
        webhookId: `msg_late${now}`,
        attempts,
        lastStatus: null,
        lastError: null,
        lastAttemptAt: null,
        nextAttemptAt: null,
        deliveredAt: null,
      });
    // Six failed attempts so far: the seventh, to a closed port, schedules the next one 30-60 minutes out.
    const [job] = await seedJobs([
      {
        tenantId: tenant,
        status: "succeeded",
        createdAt: now - 60_000,
        finishedAt: now - 30_000,
        callbackUrl: "http://127.0.0.1:9/hook",
        callbackState: state(6),
      },
    ]);
    const read = async () =>
      env.DB.prepare("SELECT outbox, callback_state FROM jobs WHERE tenant_id = ? AND id = ?")
        .bind(tenant, job?.id)
        .first<{ outbox: number; callback_state: string }>();
    const batch = createMessageBatch<unknown>("jobs", [
      { id: `cb-${now}`, timestamp: now, attempts: 1, body: { kind: "callback", tenant, id: job?.id } },
    ]);
    await deliverCallbacks(batch.messages, env);
    const waiting = await read();
    const seventh = JSON.parse(waiting?.callback_state ?? "{}") as { attempts: number; nextAttemptAt: string };
    expect(seventh.attempts).toBe(7);
    expect(waiting?.outbox).toBe(1);

    // That retry message is lost (dead-lettered). Past the window, only the flag finds the callback.
    const later = Date.parse(seventh.nextAttemptAt) + 10 * 60_000;
    await tick(later);
    const deadline = Date.now() + 15_000;
    let final = { status: "pending", attempts: 7 };
    while (Date.now() < deadline && final.status === "pending") {
      final = JSON.parse((await read())?.callback_state ?? "{}");
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(final).toMatchObject({ status: "failed", attempts: 8 });
    expect((await read())?.outbox).toBe(0);
  });
});
