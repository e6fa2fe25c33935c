import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { RESCUE_WINDOW_MS } from "../../src/service/enqueue";
import { call, newTenant } from "../fixtures/api";
import { chaos, resetChaos } from "../fixtures/chaos";
import { CHAOS_TABLES } from "../fixtures/chaos-jobs";
import worker from "../fixtures/worker";

const JOBS = 2_000;
const SINGLE = 200; // enqueued one by one; the rest in batches of 100
const DRAIN_TIMEOUT_MS = 240_000;

type Counts = Record<string, number>;

async function statusCounts(tenant: string): Promise<Counts> {
  const { results } = await env.DB.prepare("SELECT status, count(*) AS n FROM jobs WHERE tenant_id = ? GROUP BY status")
    .bind(tenant)
    .all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

/** How long the drain waits without progress before it fires the tick: only then are open jobs likely stranded. */
const STALL_MS = 6_000;
const GRACE_MS = 301_000;

/**
 * Fires the cron tick `aheadMs` in the future. The first stalls tick just past the outbox grace period; later
 * ones past the one-hour rescue window too, so jobs whose messages were lost are found however old their ids are.
 */
async function tickAhead(aheadMs: number) {
  await worker.scheduled(
    createScheduledController({ scheduledTime: Date.now() + aheadMs }),
    env,
    createExecutionContext(),
  );
}

describe("chaos: nothing is lost, and an effect repeats only after an injected crash", () => {
  afterAll(resetChaos);

  it(`drains ${JOBS} jobs through failing handlers, a crashing consumer and failing sends`, {
    timeout: 360_000,
  }, async () => {
    for (const sql of CHAOS_TABLES) await env.DB.prepare(sql).run();
    const { key, tenant } = await newTenant("chaos");
    chaos.sendFailureRate = 0.1;
    chaos.d1BatchFailureRate = 0.05;

    const job = (i: number) => ({
      type: "chaos-work",
      payload: { seed: i, ...(i % 100 === 7 ? { poison: true } : {}) },
    });
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < SINGLE; i++) {
      const res = await call("POST", "/v1/jobs", { token: key, body: job(i) });
      if (res.status === 202) accepted++;
      else refused++;
    }
    for (let start = SINGLE; start < JOBS; start += 100) {
      const jobs = Array.from({ length: 100 }, (_, i) => job(start + i));
      const res = await call<{ jobs: unknown[] }>("POST", "/v1/jobs/batch", { token: key, body: { jobs } });
      if (res.status === 202) accepted += res.body.jobs.length;
      else refused += jobs.length;
    }
    // A failed send never fails the request: the row is committed first and the tick re-sends it.
    expect({ accepted, refused }).toEqual({ accepted: JOBS, refused: 0 });
    const rows = Object.values(await statusCounts(tenant)).reduce((a, b) => a + b, 0);
    expect(rows).toBe(accepted);

    // Drain: the tick rescues messages that were never sent or were lost with a crashed batch. It fires only when
    // the drain stalls, so it re-sends the stranded jobs, not every job whose message is merely on its way.
    const drainStart = Date.now();
    const deadline = drainStart + DRAIN_TIMEOUT_MS;
    let counts = await statusCounts(tenant);
    let lastOpen = Number.POSITIVE_INFINITY;
    let lastProgress = Date.now();
    let ticks = 0;
    while (Date.now() < deadline) {
      counts = await statusCounts(tenant);
      const open = (counts.queued ?? 0) + (counts.running ?? 0) + (counts.retrying ?? 0) + (counts.scheduled ?? 0);
      if (open === 0) break;
      if (open < lastOpen) {
        lastOpen = open;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > STALL_MS) {
        await tickAhead(ticks % 2 === 0 ? GRACE_MS : RESCUE_WINDOW_MS + GRACE_MS);
        ticks++;
        lastProgress = Date.now();
      }
      console.info(JSON.stringify({ drainSeconds: Math.round((Date.now() - drainStart) / 1000), ticks, ...counts }));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const injected = { ...chaos.injected };
    resetChaos();

    const succeeded = counts.succeeded ?? 0;
    const dead = counts.dead ?? 0;
    expect(counts.queued ?? 0).toBe(0);
    expect(counts.running ?? 0).toBe(0);
    expect(counts.retrying ?? 0).toBe(0);
    expect(succeeded + dead + (counts.cancelled ?? 0)).toBe(accepted);

    // Every dead job says why; the poison ones are exactly the planted ones.
    const deadRows = await env.DB.prepare("SELECT payload, error FROM jobs WHERE tenant_id = ? AND status = 'dead'")
      .bind(tenant)
      .all<{ payload: string; error: string | null }>();
    for (const row of deadRows.results) expect(JSON.parse(row.error ?? "{}").message).toMatch(/\w/);
    const poisoned = deadRows.results.filter((r) => JSON.parse(r.payload).poison === true).length;
    const deadReasons: Record<string, number> = {};
    for (const row of deadRows.results) {
      const reason = String(JSON.parse(row.error ?? "{}").message).replace(/\d+/g, "N");
      deadReasons[reason] = (deadReasons[reason] ?? 0) + 1;
    }

    // The effect is a plain counter: every run that got as far as it counts. Each succeeded job has it at least once;
    // a second time only where a crash (an injected failed batch) threw away a success outcome after the handler ran.
    const effects = await env.DB.prepare(
      `SELECT count(*) AS jobs, coalesce(sum(e.n), 0) AS total FROM chaos_effects e JOIN jobs j ON j.id = e.job_id
       WHERE j.tenant_id = ? AND j.status = 'succeeded'`,
    )
      .bind(tenant)
      .first<{ jobs: number; total: number }>();
    const runs = await env.DB.prepare(
      `SELECT count(*) AS n, count(DISTINCT r.job_id || '/' || r.attempt) AS attempts
       FROM chaos_runs r JOIN jobs j ON j.id = r.job_id WHERE j.tenant_id = ?`,
    )
      .bind(tenant)
      .first<{ n: number; attempts: number }>();
    const duplicateEffects = (effects?.total ?? 0) - (effects?.jobs ?? 0);
    console.info(
      JSON.stringify({
        chaos: { jobs: JOBS, accepted, refused, succeeded, dead, poisoned, deadReasons, injected, ticks },
        effectRuns: runs?.n,
        duplicateEffects,
        rerunsOfOneAttempt: (runs?.n ?? 0) - (runs?.attempts ?? 0),
      }),
    );
    expect(effects?.jobs).toBe(succeeded);
    expect(duplicateEffects).toBeLessThanOrEqual(injected.lostSucceeded);
    // Jobs marked dead are the poison ones, and those whose attempts ran out (each of 10 fails 30 % of the time).
    expect(poisoned).toBe(JOBS / 100);
  });
});
