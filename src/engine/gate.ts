// The gate stage: paused types hold their jobs (one D1 statement per batch), then one KeyGate call per (tenant, flow
// key) per batch decides which of the rest start now.

import type { AttemptLogEntry, FlowSettings, JobOptions } from "../contract/job";
import { describeError } from "../core/errors";
import type { Logger } from "../core/logger";
import { withDeferral } from "../db/deferrals";
import { HOLDS_PER_STATEMENT, holdStatement } from "../db/paused-types";
import type { JobRow } from "../db/schema";
import { flowGate, type GateNamespace } from "../gate/gate-client";
import { type Delivery, leaseIdOf } from "./delivery";

export type GateItem = { delivery: Delivery; row: JobRow; options: JobOptions; leaseMs: number };

/** A concurrency slot held for one delivery; given back once its outcome is recorded (or it did not run). */
export type FlowLease = { tenant: string; key: string; leaseId: string };

export type Gated<W> = {
  /** May start at `startAt` (null: now); `lease` when the key limits concurrency. */
  admitted: { item: W; startAt: number | null; lease: FlowLease | null }[];
  /** Told to come back later by the gate: a deferral, written to the row (not an attempt). */
  deferred: { item: W; delaySeconds: number }[];
  /** The gate could not be asked: these wait and ask again, since running them unchecked could break the limits. */
  unavailable: { item: W; delaySeconds: number }[];
  /**
   * Held because the job's type is paused for its tenant: the row is parked (paused = 1, still queued, no attempt)
   * and a resume sends it again, so the consumer only acks these messages.
   */
  paused: { item: W }[];
};

export const GATE_DOWN_WAIT_SECONDS = 5;

type Group<W> = { tenant: string; flow: FlowSettings; settingsFrom: string; items: W[] };

/**
 * Asks each flow key's gate once, with all of this batch's jobs for that key and their lease lengths, so
 * a slot held by a consumer that died comes back when that lease passes. Each delivery asks under its own
 * lease id: a duplicate delivery of a running job needs a slot of its own.
 */
export async function gateFlows<W extends GateItem>(
  items: readonly W[],
  deps: { gates: GateNamespace; log: Logger },
): Promise<Gated<W>> {
  const result: Gated<W> = { admitted: [], deferred: [], unavailable: [], paused: [] };
  const groups = new Map<string, Group<W>>();
  for (const item of items) {
    const flow = item.options.flow;
    if (!flow) {
      result.admitted.push({ item, startAt: null, lease: null });
      continue;
    }
    const name = JSON.stringify([item.row.tenantId, flow.key]);
    const group = groups.get(name) ?? { tenant: item.row.tenantId, flow, settingsFrom: item.row.id, items: [] };
    // Job ids sort by creation time: the newest job's settings are the key's settings.
    if (item.row.id >= group.settingsFrom) Object.assign(group, { flow, settingsFrom: item.row.id });
    group.items.push(item);
    groups.set(name, group);
  }

  await Promise.all(
    [...groups.values()].map(async (group) => {
      // Oldest first, so the jobs that waited longest take the free capacity.
      const ordered = [...group.items].sort((a, b) => (a.row.id < b.row.id ? -1 : 1));
      try {
        const answer = await flowGate(deps.gates, group.tenant, group.flow.key).admit({
          key: group.flow.key,
          limits: { rate: group.flow.rate ?? null, concurrency: group.flow.concurrency ?? null },
          settingsFrom: group.settingsFrom,
          jobs: ordered.map((item) => ({ id: item.row.id, leaseId: leaseIdOf(item.delivery), leaseMs: item.leaseMs })),
        });
        const answeredAt = Date.now();
        const waits = new Map(answer.admitted.map((a) => [a.id, a.waitMs]));
        const delays = new Map(answer.deferred.map((d) => [d.id, d.delaySeconds]));
        for (const item of ordered) {
          const waitMs = waits.get(item.row.id);
          if (waitMs === undefined) {
            result.deferred.push({ item, delaySeconds: delays.get(item.row.id) ?? GATE_DOWN_WAIT_SECONDS });
            continue;
          }
          const lease = answer.leased
            ? { tenant: group.tenant, key: group.flow.key, leaseId: leaseIdOf(item.delivery) }
            : null;
          result.admitted.push({ item, startAt: waitMs > 0 ? answeredAt + waitMs : null, lease });
        }
      } catch (err) {
        deps.log.error("flow gate unavailable; jobs wait", {
          tenant: group.tenant,
          jobIds: ordered.map((i) => i.row.id),
          error: err instanceof Error ? err.message : String(err),
        });
        for (const item of ordered) result.unavailable.push({ item, delaySeconds: GATE_DOWN_WAIT_SECONDS });
      }
    }),
  );
  return result;
}

/**
 * The whole gate: jobs of paused types are held first (they must not take flow capacity), the rest go through
 * the flow gates. One D1 statement per 100 jobs; it writes rows only for the jobs it holds, and decides from
 * paused_types as it is when it runs (the consumer calls it only for a batch whose load saw a paused type).
 * If D1 cannot be asked, no job runs unchecked: all of them wait and are triaged again.
 */
export async function gateJobs<W extends GateItem>(
  items: readonly W[],
  deps: { d1: D1Database; gates: GateNamespace; log: Logger; now: number },
): Promise<Gated<W>> {
  if (items.length === 0) return { admitted: [], deferred: [], unavailable: [], paused: [] };
  let held: Set<string>;
  try {
    held = await holdPaused(deps.d1, items, deps.now);
  } catch (err) {
    deps.log.error("paused types not checked; jobs wait", {
      jobIds: items.map((i) => i.row.id),
      error: describeError(err).message,
    });
    const wait = items.map((item) => ({ item, delaySeconds: GATE_DOWN_WAIT_SECONDS }));
    return { admitted: [], deferred: [], unavailable: wait, paused: [] };
  }
  const open = items.filter((item) => !held.has(keyOf(item)));
  const gated = await gateFlows(open, deps);
  gated.paused = items.filter((item) => held.has(keyOf(item))).map((item) => ({ item }));
  return gated;
}

const keyOf = (item: GateItem) => `${item.row.tenantId}/${item.row.id}`;

/** Parks the jobs whose type is paused for their tenant (conditional on each row as read); answers their keys. */
async function holdPaused(d1: D1Database, items: readonly GateItem[], now: number): Promise<Set<string>> {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < items.length; i += HOLDS_PER_STATEMENT) {
    statements.push(
      holdStatement(
        d1,
        items.slice(i, i + HOLDS_PER_STATEMENT).map((item) => item.row),
        now,
      ),
    );
  }
  const results = await d1.batch<{ tenant: string; id: string }>(statements);
  return new Set(results.flatMap((r) => r.results.map((row) => `${row.tenant}/${row.id}`)));
}

/** The attempt log with one more deferral entry: the job waits without spending an attempt, and says why. */
export function deferralLog(row: JobRow, flowKey: string, delaySeconds: number, now: number): string {
  const at = new Date(now).toISOString();
  const entry: AttemptLogEntry = {
    attempt: row.attempts + 1,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
    outcome: "deferred",
    error: { name: "FlowDeferred", message: `flow key "${flowKey}": starts in ${delaySeconds}s` },
  };
  return JSON.stringify(withDeferral(JSON.parse(row.attemptLog) as AttemptLogEntry[], entry));
}

/** Gives back slots: one KeyGate call per key. A failed release is only logged: the slots lapse with their leases. */
export async function releaseLeases(gates: GateNamespace, leases: readonly FlowLease[], log: Logger): Promise<void> {
  const byKey = new Map<string, { tenant: string; key: string; ids: string[] }>();
  for (const lease of leases) {
    const name = JSON.stringify([lease.tenant, lease.key]);
    const group = byKey.get(name) ?? { tenant: lease.tenant, key: lease.key, ids: [] };
    group.ids.push(lease.leaseId);
    byKey.set(name, group);
  }
  await Promise.all(
    [...byKey.values()].map(({ tenant, key, ids }) =>
      flowGate(gates, tenant, key)
        .release(ids)
        .catch((err: unknown) => {
          log.warn("flow slot release failed", {
            tenant,
            leaseIds: ids,
            error: err instanceof Error ? err.message : String(err),
          });
        }),
    ),
  );
}
