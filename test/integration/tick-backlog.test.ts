import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/core/define-job";
import { idFloor } from "../../src/core/ids";
import { meterD1 } from "../../src/metering/d1";
import { MAX_FIRES_PER_TICK, SCHEDULE_PAGE } from "../../src/scheduler/fire-schedules";
import { RELEASE_PAGE } from "../../src/scheduler/release-delayed";
import { tick } from "../../src/scheduler/tick";
import { newTenant } from "../fixtures/api";
import { DAY, HOUR } from "../fixtures/clock";
import { defaultJobs } from "../fixtures/default-jobs";
import { testJobs } from "../fixtures/test-jobs";

const registry = createRegistry([...defaultJobs, ...testJobs]);

/** Passes sends through to the real queue, counting calls and messages. */
function countingQueue() {
  const usage = { sendBatchCalls: 0, messages: 0 };
  const real = env.JOBS_QUEUE;
  const queue = {
    send: (body: unknown, options?: QueueSendOptions) => {
      usage.messages++;
      return real.send(body, options);
    },
    sendBatch: (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      usage.sendBatchCalls++;
      usage.messages += list.length;
      return real.sendBatch(list, options);
    },
  };
  return { queue: queue as unknown as Queue, usage };
}

/** One tick on real D1 and the real queue, metered: statements and rows as D1 reports them. */
async function meteredTick(now: number) {
  const d1 = meterD1(env.DB);
  const sends = countingQueue();
  const report = await tick({ ...env, DB: d1.d1, JOBS_QUEUE: sends.queue }, now, { registry });
  return { report, d1: d1.usage, sends: sends.usage };
}

async function scalar(sql: string, ...params: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * Due schedules, due delayed jobs and due waiting (workflow) jobs, held jobs of resumed types, the rescue scan (its
 * page of tenants, fresh ids, watched rows, retrying jobs), the rescue floors and cursor, retention (job steps, jobs,
 * counters, cursor; old events; finished batches), lost batch callbacks and expired dashboard sessions: no term per tenant.
 */
const IDLE_TICK_STATEMENTS = 18;

describe("a cheap tick under backlog", () => {
  it("runs the same small set of statements when idle, whatever the tenant count, and writes nothing", async () => {
    await newTenant();
    const before = await meteredTick(Date.now());
    for (let i = 0; i < 5; i++) await newTenant();
    const after = await meteredTick(Date.now());
    expect(before.d1.statements).toBe(IDLE_TICK_STATEMENTS);
    expect(after.d1.statements).toBe(IDLE_TICK_STATEMENTS);
    // The sweeps' cursors stay put while every tenant fits one page, and a fresh tenant's rescue floor is recent.
    expect(after.d1.rowsWritten).toBe(0);
    expect(after.sends.messages).toBe(0);
  });

  it("drains 10,000 due delayed jobs over consecutive ticks, a page each, with an idle tick's statement count", async () => {
    const { tenant } = await newTenant();
    const T = Date.now() + 30 * DAY;
    const idle = await meteredTick(T);

    // 10,000 jobs delayed past the queue's 12 h limit, all due at T + 85 s (inserted in one statement).
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
       INSERT INTO jobs (tenant_id, id, type, status, payload, max_attempts, options, run_at, created_at, updated_at, metadata)
       SELECT ?, ? || printf('%016d', i), 'test-echo', 'scheduled', '{}', 5, ?, ?, ?, ?, '{}' FROM n`,
    )
      .bind(
        tenant,
        idFloor("job", T - 3 * DAY),
        JSON.stringify({ backoff: { type: "fixed", delaySeconds: 0 }, timeoutSeconds: 60 }),
        T + 85_000,
        T - 3 * DAY,
        T - 3 * DAY,
      )
      .run();
    const waiting = () => scalar("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ? AND status = 'scheduled'", tenant);
    expect(await waiting()).toBe(10_000);

    const perTick: { released: number; statements: number; rowsWritten: number; sendBatchCalls: number }[] = [];
    // Consecutive ticks a second apart, so every message still carries a delay and nothing runs yet.
    for (let i = 0; (await waiting()) > 0 && i < 30; i++) {
      const t = await meteredTick(T + i * 1_000);
      perTick.push({
        released: t.report.released,
        statements: t.d1.statements,
        rowsWritten: t.d1.rowsWritten,
        sendBatchCalls: t.sends.sendBatchCalls,
      });
    }

    expect(perTick).toHaveLength(10_000 / RELEASE_PAGE);
    for (const t of perTick) {
      expect(t.released).toBe(RELEASE_PAGE);
      // Releasing is one UPDATE … RETURNING whatever the page size: no more statements than idle.
      expect(t.statements).toBe(idle.d1.statements);
      expect(t.sendBatchCalls).toBe(RELEASE_PAGE / 100);
    }
    expect(await scalar("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ? AND status = 'queued'", tenant)).toBe(
      10_000,
    );
    // The next tick finds nothing left.
    expect((await meteredTick(T + 60_000)).report.released).toBe(0);

    // Cancel them: their delayed messages are then acked without running anything.
    await env.DB.prepare("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE tenant_id = ?")
      .bind(Date.now(), tenant)
      .run();
  }, 120_000);

  it("drains more due schedules than one page over consecutive ticks, one job per schedule", async () => {
    const { tenant } = await newTenant();
    // On the hour, so T is a fire time of "0 * * * *".
    const T = Math.ceil((Date.now() + 60 * DAY) / HOUR) * HOUR;
    const count = 2 * SCHEDULE_PAGE + 20;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
       INSERT INTO schedules (tenant_id, id, name, cron, timezone, type, payload, job_options, enabled, catch_up, next_run_at, created_at, updated_at)
       SELECT ?, 'sch_' || printf('%026d', i), 'backlog-' || i, '0 * * * *', 'UTC', 'test-echo', '{}', '{}', 1, 'latest', ?, ?, ?
       FROM n`,
    )
      .bind(count, tenant, T, T - DAY, T - DAY)
      .run();
    const due = () => scalar("SELECT COUNT(*) AS n FROM schedules WHERE tenant_id = ? AND next_run_at <= ?", tenant, T);

    const fired: number[] = [];
    for (let i = 0; (await due()) > 0 && i < 10; i++) {
      const t = await meteredTick(T + i * 1_000);
      fired.push(t.report.fired);
      // A page: its job inserts (4 rows each) and one advance per schedule, on top of an idle tick.
      expect(t.d1.statements).toBeLessThanOrEqual(
        IDLE_TICK_STATEMENTS + Math.ceil(SCHEDULE_PAGE / 4) + SCHEDULE_PAGE + 1,
      );
      expect(t.report.fired).toBeLessThanOrEqual(Math.min(SCHEDULE_PAGE, MAX_FIRES_PER_TICK));
    }
    expect(fired).toEqual([SCHEDULE_PAGE, SCHEDULE_PAGE, 20]);
    expect(
      await scalar(
        "SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ? AND json_extract(metadata, '$.scheduleId') IS NOT NULL",
        tenant,
      ),
    ).toBe(count);
  }, 120_000);
});
