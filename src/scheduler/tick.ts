// The every-minute tick: fire due schedules, release due delayed jobs, re-send lost messages, prune old jobs.

import { configOf, controlDbOf, jobQueueOf, shardNameOf } from "../core/config";
import type { JobRegistry } from "../core/define-job";
import { describeError } from "../core/errors";
import { log } from "../core/logger";
import { openDb } from "../db/client";
import { pruneExpiredSessions } from "../db/sessions";
import { tenantShard } from "../db/tenant-shards";
import { releaseResumedTypes } from "../service/job-types";
import { rescueBatchCallbacks } from "../webhooks/batch-callbacks";
import type { DeclaredScheduleSync } from "./declared-schedules";
import { fireDueSchedules } from "./fire-schedules";
import { sendMaintenance } from "./maintenance";
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

  const { shards } = configOf(env);
  const shard = shardNameOf(env);
  if (options.syncDeclared) {
    const sync = options.syncDeclared;
    await phase("declared schedules", async () => {
      // Each shard upserts the declared schedules of the tenants it holds.
      const onShard = async (tenant: string) => (await tenantShard(controlDbOf(env), shards, tenant, now)) === shard;
      report.declared = await sync(db, now, shard, onShard);
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
  // Sessions live in the control database: with several shards the cron invocation prunes them (tickShards).
  if (shards.length === 1) {
    await phase("expired sessions", async () => {
      report.expiredSessions = await pruneExpiredSessions(db, now);
    });
  }

  if (Object.values(report).some((n) => n > 0)) log.info("tick", { ...report, scheduledTime: now });
  if (failures.length > 0) throw new AggregateError(failures, `tick: ${failures.length} phase(s) failed`);
  return report;
}

/**
 * The cron invocation of a deployment with several shards: prunes the control database's expired sessions and
 * sends each shard its maintenance message (src/scheduler/maintenance.ts); the shards' ticks run from the queue.
 */
export async function tickShards(env: Env, now: number): Promise<{ shards: number; expiredSessions: number }> {
  const { shards } = configOf(env);
  const sent = await sendMaintenance(env, shards, now);
  const expiredSessions = await pruneExpiredSessions(openDb(controlDbOf(env)), now);
  log.info("tick sent to shards", { shards: sent, expiredSessions, scheduledTime: now });
  return { shards: sent, expiredSessions };
}
