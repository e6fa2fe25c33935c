// The every-minute tick: fire due schedules, release due delayed jobs, re-send lost messages, prune old jobs.

import { configOf, jobQueueOf } from "../core/config";
import type { JobRegistry } from "../core/define-job";
import { describeError } from "../core/errors";
import { log } from "../core/logger";
import { openDb } from "../db/client";
import { pruneExpiredSessions } from "../db/sessions";
import { releaseResumedTypes } from "../service/job-types";
import { rescueBatchCallbacks } from "../webhooks/batch-callbacks";
import type { DeclaredScheduleSync } from "./declared-schedules";
import { fireDueSchedules } from "./fire-schedules";
import { pruneFinished } from "./prune";
import { releaseDelayed } from "./release-delayed";
import { rescueStranded } from "./rescue";

export type TickOptions = {
  registry: JobRegistry;
  /** Upserts the schedules declared in code; a no-op after its first success in this Worker instance. */
  syncDeclared?: DeclaredScheduleSync;
};

export type TickReport = {
  declared: number;
  fired: number;
  duplicateFires: number;
  released: number;
  releasedHeld: number;
  rescued: number;
  pruned: number;
  expiredSessions: number;
  sendFailures: number;
};

/**
 * `now` is the controller's scheduledTime. Every phase is bounded (pages), so a backlog drains over
 * consecutive ticks. A failing phase does not stop the others; the tick still fails afterwards so
 * the invocation shows as failed.
 */
export async function tick(env: Env, now: number, options: TickOptions): Promise<TickReport> {
  const db = openDb(env.DB);
  const queue = jobQueueOf(env);
  const graceMs = configOf(env).outboxGraceMs;
  const report: TickReport = {
    declared: 0,
    fired: 0,
    duplicateFires: 0,
    released: 0,
    releasedHeld: 0,
    rescued: 0,
    pruned: 0,
    expiredSessions: 0,
    sendFailures: 0,
  };
  const failures: unknown[] = [];
  const phase = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      failures.push(err);
      log.error("tick phase failed", { phase: name, error: describeError(err).message });
    }
  };

  if (options.syncDeclared) {
    const sync = options.syncDeclared;
    await phase("declared schedules", async () => {
      report.declared = await sync(db, now);
    });
  }
  await phase("schedules", async () => {
    const fired = await fireDueSchedules(env, { db, queue, registry: options.registry, log, now });
    report.fired = fired.fired;
    report.duplicateFires = fired.duplicates;
    report.sendFailures += fired.sendFailures;
  });
  await phase("delayed jobs", async () => {
    const released = await releaseDelayed(db, queue, log, now, graceMs);
    report.released = released.released;
    report.sendFailures += released.sendFailures;
  });
  await phase("resumed types", async () => {
    const held = await releaseResumedTypes({ d1: env.DB, queue, log, now });
    report.releasedHeld = held.released;
    report.sendFailures += held.sendFailures;
  });
  // The sweeps below walk the tenants table a page per tick (cursors in D1): a fixed number of queries per tick.
  await phase("outbox rescue", async () => {
    const rescued = await rescueStranded({ d1: env.DB, queue, log, now, graceMs });
    report.rescued = rescued.rescued;
    report.sendFailures += rescued.sendFailures;
  });
  await phase("batch callback rescue", async () => {
    report.rescued += await rescueBatchCallbacks(env.DB, queue, now);
  });
  await phase("retention", async () => {
    report.pruned = await pruneFinished(env.DB, env, now);
  });
  // One bounded DELETE: dashboard sessions nobody signed out of would otherwise linger (they are refused once expired).
  await phase("expired sessions", async () => {
    report.expiredSessions = await pruneExpiredSessions(db, now);
  });

  if (Object.values(report).some((n) => n > 0)) log.info("tick", { ...report, scheduledTime: now });
  if (failures.length > 0) throw new AggregateError(failures, `tick: ${failures.length} phase(s) failed`);
  return report;
}
