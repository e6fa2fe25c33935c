// KeyGate: one SQLite-backed Durable Object per (tenant, key) for idempotency claims, flow control and debounce windows.
import { DurableObject } from "cloudflare:workers";
import { shardEnvOf } from "../core/config";
import { CONTROL_DB } from "../core/shards";
import { debouncedJobUnstarted, insertDebouncedJob, replaceDebouncedJob } from "../db/debounce-statements";
import type { JobRow } from "../db/schema";
import { sqlWithPlatformLimits } from "../limits";
import { metered } from "../metering/invocation";
import { type DebounceSettings, type DebounceWindow, openWindow, planGroup, WINDOW_LINGER_MS } from "./debounce";
import {
  type AskingJob,
  decide,
  type FlowLimits,
  liveLeases,
  nextAverageRunMs,
  nextReturnLagMs,
  type StartWindow,
  tokenHoldMs,
} from "./flow-math";
import { type Claim, type ClaimAnswer, decideClaim } from "./idempotency";

export type ClaimRequest = { fingerprint: string; proposedJobId: string; ttlSeconds: number };

export type AdmitRequest = {
  key: string;
  limits: FlowLimits;
  /** The newest job in this ask that carries `limits`: the latest job naming a key sets its settings. */
  settingsFrom: string;
  jobs: AskingJob[];
};

export type AdmitAnswer = {
  /** Jobs that may start, each after `waitMs` (0, or up to a second until its token comes back). */
  admitted: { id: string; waitMs: number }[];
  deferred: { id: string; delaySeconds: number }[];
  /** True when the admitted jobs hold concurrency slots that must be released. */
  leased: boolean;
};

export type DebounceRequest = {
  /** The request's job as the insert would store it (validated, its id a fresh candidate for a new window). */
  row: JobRow;
  settings: DebounceSettings;
  /** The enqueue's clock: the window's times count from it. */
  now: number;
  /** The D1 binding of the tenant's shard (src/core/shards.ts), where the window's job is written; DB when absent. */
  shard?: string;
};

export type DebounceAnswer = {
  /** `created`: this arrival opened a window with its own row; `replaced`: it became the open window's job. */
  kind: "created" | "replaced";
  /** The job as stored after this arrival. */
  row: JobRow;
  /** This arrival's place in the window (1 opened it). */
  seq: number;
  /** True when the caller must send the job's message (none known to come is due by its new start). */
  sendMessage: boolean;
};

export type FlowView = {
  key: string;
  rate: { limit: number; periodSeconds: number } | null;
  concurrency: number | null;
  running: number;
  waiting: number;
};

/** An idle flow object (no asks, no live slot) deletes itself after this long; the next job re-supplies its settings. */
const FLOW_IDLE_MS = 24 * 3600 * 1000;
/** A waiting entry this far past its due time belongs to a job that never came back (cancelled, deleted). */
const WAITING_STALE_MS = 10 * 60 * 1000;
const DEFAULT_AVERAGE_RUN_MS = 1000;
/** When the alarm could not ask D1 whether a window's job has started, it keeps the window and asks again this much later. */
const WINDOW_RECHECK_MS = 3600 * 1000;

type MetaRow = {
  key: string;
  rate_limit: number | null;
  rate_period: number | null;
  concurrency: number | null;
  settings_from: string;
  average_run_ms: number;
  return_lag_ms: number;
  last_seen: number;
};

/**
 * A flow object keeps its state in SQL tables, created on its first ask. An idempotency object holds
 * one claim in the KV API instead (one row in the hidden KV table): no table to create per key.
 */
const FLOW_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS flow_meta (
     id INTEGER PRIMARY KEY CHECK (id = 1), key TEXT NOT NULL, rate_limit INTEGER, rate_period INTEGER,
     concurrency INTEGER, settings_from TEXT NOT NULL, average_run_ms INTEGER NOT NULL,
     return_lag_ms INTEGER NOT NULL, last_seen INTEGER NOT NULL)`,
  "CREATE TABLE IF NOT EXISTS flow_starts (at INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
  `CREATE TABLE IF NOT EXISTS flow_leases (
     job_id TEXT PRIMARY KEY, until INTEGER NOT NULL, started INTEGER NOT NULL) WITHOUT ROWID`,
  "CREATE TABLE IF NOT EXISTS flow_waiting (job_id TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID",
];
const CLAIM = "claim";
const WINDOW = "debounce";

export class KeyGate extends DurableObject<Env> {
  /** Tables are created on the first write, so a read of an unknown key leaves no storage behind. */
  private tables: Set<string> | null = null;

  private guardedSql: SqlStorage | null = null;

  /** Debounce arrivals waiting for the D1 write in flight (see drainArrivals). */
  private arrivals: {
    request: DebounceRequest;
    resolve: (answer: DebounceAnswer) => void;
    reject: (err: unknown) => void;
  }[] = [];
  private writing = false;

  /** Under the dev-only limits harness (src/limits), a statement production would refuse throws here too. */
  private get sql() {
    this.guardedSql ??= sqlWithPlatformLimits(this.ctx.storage.sql, this.env);
    return this.guardedSql;
  }

  private hasFlowSchema(): boolean {
    this.tables ??= new Set(
      this.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((t) => t.name),
    );
    return this.tables.has("flow_meta");
  }

  private ensureFlowSchema() {
    if (this.hasFlowSchema()) return;
    for (const statement of FLOW_SCHEMA) this.sql.exec(statement);
    this.tables?.add("flow_meta");
  }

  // ---- idempotency ----

  /** Binds the key to a job on the first claim; an identical request later gets the same job id. */
  async claim(request: ClaimRequest): Promise<ClaimAnswer> {
    const now = Date.now();
    const answer = decideClaim(this.ctx.storage.kv.get<Claim>(CLAIM) ?? null, request, now);
    if (answer.outcome === "claimed") {
      const expiresAt = now + request.ttlSeconds * 1000;
      this.ctx.storage.kv.put<Claim>(CLAIM, { jobId: answer.jobId, fingerprint: request.fingerprint, expiresAt });
      await this.wakeAt(expiresAt);
    }
    return answer;
  }

  /** Undoes a claim made for a request that was then refused as a whole, so the key stays free. */
  async unclaim(jobId: string): Promise<void> {
    if (this.ctx.storage.kv.get<Claim>(CLAIM)?.jobId === jobId) this.ctx.storage.kv.delete(CLAIM);
  }

  // ---- debounce ----

  /**
   * One enqueue with this object's debounce key: replaces the open window's job (if it has not started) with the
   * request's row and moves its start, or opens a new window with the request's own row. The object writes the job
   * to D1 itself, so the window's order is the order its writes land in. A failed replace leaves the window as it
   * was; a new window is saved before its job's insert, so a failure at any point leaves at most that one job.
   */
  async debounce(request: DebounceRequest): Promise<DebounceAnswer> {
    return new Promise<DebounceAnswer>((resolve, reject) => {
      this.arrivals.push({ request, resolve, reject });
      if (!this.writing) void this.drainArrivals();
    });
  }

  /**
   * One D1 write at a time. A D1 call lets other requests into the object: those that arrive meanwhile wait here and
   * then go as one write (the last one's request is the one stored), so a burst on one key costs a few writes, not one each.
   */
  private async drainArrivals() {
    this.writing = true;
    try {
      while (this.arrivals.length > 0) {
        const group = this.arrivals.splice(0);
        try {
          const answers = await this.applyArrivals(group.map((g) => g.request));
          group.forEach((g, i) => {
            const answer = answers[i];
            if (answer) g.resolve(answer);
            else g.reject(new Error("a debounce arrival got no answer"));
          });
        } catch (err) {
          for (const g of group) g.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private applyArrivals(requests: DebounceRequest[]): Promise<DebounceAnswer[]> {
    // Metered as an invocation of its own: the enqueue's log line does not see the rows this object writes.
    // One object per (tenant, key), so every request it gets names the same shard.
    const shard = requests[0]?.shard ?? CONTROL_DB;
    return metered({ handler: "key-gate", purpose: "debounce" }, this.env, (env) =>
      this.write(shardEnvOf(env, shard).DB, requests),
    );
  }

  private async write(d1: D1Database, requests: DebounceRequest[]): Promise<DebounceAnswer[]> {
    const first = requests[0];
    const last = requests[requests.length - 1];
    if (!first || !last) return [];
    const arrivals = requests.map(({ settings, now }) => ({ settings, now }));
    const answer = (kind: DebounceAnswer["kind"], row: JobRow, seqs: number[], sendMessage: boolean) =>
      requests.map(
        (_, i): DebounceAnswer => ({
          kind: i === 0 ? kind : "replaced",
          row,
          seq: seqs[i] ?? 0,
          // One message for the group: the service that gets it sends it.
          sendMessage: sendMessage && i === requests.length - 1,
        }),
      );

    // Whatever its age: the replace lands only while the window's job has not started (D1 decides, not the clock).
    const open = this.ctx.storage.kv.get<DebounceWindow>(WINDOW) ?? null;
    if (open) {
      const plan = planGroup(open, arrivals, open.jobId);
      const replaced = await replaceDebouncedJob(d1, {
        tenant: last.row.tenantId,
        jobId: open.jobId,
        row: last.row,
        runAt: plan.final.runAt,
        status: plan.final.status,
        outbox: plan.final.outbox,
        now: plan.final.at,
      });
      if (replaced) {
        await this.saveDebounceWindow({ ...plan.window, tenant: last.row.tenantId, shard: last.shard });
        return answer("replaced", replaced, plan.seqs, plan.sendMessage);
      }
      // The window's job has started (or finished, or is gone): these arrivals open the next window.
    }
    const plan = planGroup(null, arrivals, first.row.id);
    // The first arrival's id and creation time, the last one's request.
    const stored: JobRow = {
      ...last.row,
      id: first.row.id,
      createdAt: first.row.createdAt,
      runAt: plan.final.runAt,
      status: plan.final.status,
      outbox: plan.final.outbox,
    };
    // The window first, naming the job it is about to create, then the insert (the output gate holds the D1 request
    // until the save is durable). If the insert lands but its answer is lost, or this object dies before answering,
    // the next arrival (or a retry of this one) replaces that job through the window; if the insert never landed,
    // that replace finds no job and opens a new window. Either way one job per window, never two.
    await this.saveDebounceWindow({ ...plan.window, tenant: last.row.tenantId, shard: last.shard });
    await insertDebouncedJob(d1, stored);
    return answer("created", stored, plan.seqs, plan.sendMessage);
  }

  private async saveDebounceWindow(window: DebounceWindow) {
    this.ctx.storage.kv.put<DebounceWindow>(WINDOW, window);
    await this.wakeAt(window.runAt + WINDOW_LINGER_MS);
  }

  /** The window the next arrival tries to replace the job of, for tests and the dashboard; null when none is kept. */
  async debounceWindow(): Promise<DebounceWindow | null> {
    return this.ctx.storage.kv.get<DebounceWindow>(WINDOW) ?? null;
  }

  /**
   * When the alarm must look at the stored window again, or null to forget it: a linger after its job's start, then
   * (asking D1) a linger later again for as long as the job has not started. A window an arrival saved while D1 was
   * being asked is the one that counts (it was just written, so it is not due for a check).
   */
  private async debounceWake(now: number): Promise<number | null> {
    const stored = this.ctx.storage.kv.get<DebounceWindow>(WINDOW);
    if (!stored) return null;
    if (openWindow(stored, now)) return stored.runAt + WINDOW_LINGER_MS;
    let wake: number | null;
    if (!stored.tenant)
      wake = null; // saved before windows were kept: forgotten by age, as it was then
    else {
      const tenant = stored.tenant;
      try {
        const unstarted = await metered({ handler: "key-gate", purpose: "debounce-check" }, this.env, (env) =>
          debouncedJobUnstarted(shardEnvOf(env, stored.shard ?? CONTROL_DB).DB, tenant, stored.jobId),
        );
        wake = unstarted ? now + WINDOW_LINGER_MS : null;
      } catch {
        wake = now + WINDOW_RECHECK_MS;
      }
    }
    const current = this.ctx.storage.kv.get<DebounceWindow>(WINDOW);
    if (current && (current.jobId !== stored.jobId || current.seq !== stored.seq)) {
      return Math.max(current.runAt + WINDOW_LINGER_MS, now + 1000);
    }
    if (wake === null) this.ctx.storage.kv.delete(WINDOW);
    return wake;
  }

  // ---- flow control ----

  /** One call per key per consumer batch: which of these jobs may start now, and the delay for the rest. */
  async admit(request: AdmitRequest): Promise<AdmitAnswer> {
    const now = Date.now();
    this.ensureFlowSchema();
    this.sql.exec("DELETE FROM flow_leases WHERE until <= ?", now);
    this.sql.exec("DELETE FROM flow_waiting WHERE until < ?", now - WAITING_STALE_MS);
    const waiting = new Map(
      this.sql
        .exec<{ job_id: string; until: number }>("SELECT job_id, until FROM flow_waiting")
        .toArray()
        .map((w) => [w.job_id, w.until]),
    );
    // Returning jobs show how late the queue brings deferred jobs back after their delay.
    const late = request.jobs.flatMap((job) => {
      const until = waiting.get(job.id);
      return until === undefined ? [] : [now - until];
    });
    const meta = this.applySettings(request, now, late);
    const limits: FlowLimits = {
      rate:
        meta.rate_limit != null && meta.rate_period != null
          ? { limit: meta.rate_limit, periodSeconds: meta.rate_period }
          : null,
      concurrency: meta.concurrency,
    };
    if (limits.rate)
      this.sql.exec("DELETE FROM flow_starts WHERE at + ? <= ?", tokenHoldMs(limits.rate.periodSeconds), now);
    const window = this.sql
      .exec<{ at: number; n: number }>("SELECT at, n FROM flow_starts ORDER BY at")
      .toArray()
      .map(({ at, n }): [number, number] => [at, n]);
    const decision = decide(
      limits,
      { window, leases: this.leases(), waiting, averageRunMs: meta.average_run_ms, returnLagMs: meta.return_lag_ms },
      request.jobs,
      now,
    );

    if (limits.rate && decision.admitted.length > 0) this.saveWindow(window, decision.window);
    for (const { id, leaseId, startAt, leaseUntil } of decision.admitted) {
      if (limits.concurrency != null) {
        // flow_leases.job_id holds the lease id: one per delivery, so duplicates never share a slot.
        this.sql.exec(
          "INSERT OR REPLACE INTO flow_leases (job_id, until, started) VALUES (?, ?, ?)",
          leaseId,
          leaseUntil,
          startAt,
        );
      }
      if (waiting.has(id)) this.sql.exec("DELETE FROM flow_waiting WHERE job_id = ?", id);
    }
    for (const { id, delaySeconds } of decision.deferred) {
      this.sql.exec("INSERT OR REPLACE INTO flow_waiting (job_id, until) VALUES (?, ?)", id, now + delaySeconds * 1000);
    }
    await this.wakeAt(now + FLOW_IDLE_MS);
    return {
      admitted: decision.admitted.map((a) => ({ id: a.id, waitMs: a.startAt - now })),
      deferred: decision.deferred,
      leased: limits.concurrency != null && decision.admitted.length > 0,
    };
  }

  /** Gives back the slots (by lease id) of deliveries whose outcome is written. One call per key per consumer wave. */
  async release(leaseIds: string[]): Promise<void> {
    if (!this.hasFlowSchema() || leaseIds.length === 0) return;
    const now = Date.now();
    const held: number[] = [];
    for (const id of leaseIds) {
      const row = this.sql
        .exec<{ started: number }>("DELETE FROM flow_leases WHERE job_id = ? RETURNING started", id)
        .toArray()[0];
      if (row) held.push(now - row.started);
    }
    const meta = this.meta();
    if (meta && held.length > 0) {
      this.sql.exec(
        "UPDATE flow_meta SET average_run_ms = ? WHERE id = 1",
        nextAverageRunMs(meta.average_run_ms, held),
      );
    }
  }

  /** The key's settings and live counts, or null when no job has named the key lately. */
  async describe(): Promise<FlowView | null> {
    if (!this.hasFlowSchema()) return null;
    const meta = this.meta();
    if (!meta) return null;
    const now = Date.now();
    const waiting = this.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM flow_waiting WHERE until >= ?", now - WAITING_STALE_MS)
      .one().n;
    return {
      key: meta.key,
      rate:
        meta.rate_limit != null && meta.rate_period != null
          ? { limit: meta.rate_limit, periodSeconds: meta.rate_period }
          : null,
      concurrency: meta.concurrency,
      running: liveLeases(this.leases(), now).size,
      waiting,
    };
  }

  /** Cleans up: expired idempotency claims, idle flow state, closed debounce windows. An object left with nothing deletes its storage. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    // First, as it may wait on D1: the rest below reads and writes without letting another request in.
    const windowWake = await this.debounceWake(now);
    let claim = this.ctx.storage.kv.get<Claim>(CLAIM);
    if (claim && claim.expiresAt <= now) {
      this.ctx.storage.kv.delete(CLAIM);
      claim = undefined;
    }
    const meta = this.hasFlowSchema() ? this.meta() : undefined;
    const live = meta ? liveLeases(this.leases(), now) : new Map<string, number>();
    const flowWake = meta ? Math.max(meta.last_seen + FLOW_IDLE_MS, ...live.values()) : null;
    const flowIdle = flowWake !== null && flowWake <= now;
    if (flowIdle) {
      for (const table of ["flow_meta", "flow_starts", "flow_leases", "flow_waiting"])
        this.sql.exec(`DELETE FROM ${table}`);
    }
    const next = [claim?.expiresAt, flowIdle ? null : flowWake, windowWake].filter((t): t is number => t != null);
    if (next.length > 0) {
      await this.ctx.storage.setAlarm(Math.min(...next));
      return;
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.tables = null;
  }

  private meta(): MetaRow | undefined {
    return this.sql.exec<MetaRow>("SELECT * FROM flow_meta WHERE id = 1").toArray()[0];
  }

  private leases(): Map<string, number> {
    const rows = this.sql.exec<{ job_id: string; until: number }>("SELECT job_id, until FROM flow_leases").toArray();
    return new Map(rows.map((r) => [r.job_id, r.until]));
  }

  /**
   * The latest job naming the key sets its limits; an older job's settings never overwrite a newer
   * one's. One row write per ask, which also keeps the key's last activity and learned lag.
   */
  private applySettings(request: AdmitRequest, now: number, lateMs: number[]): MetaRow {
    const current = this.meta();
    const newer = !current || request.settingsFrom >= current.settings_from;
    const next: MetaRow = {
      key: request.key,
      rate_limit: newer ? (request.limits.rate?.limit ?? null) : (current?.rate_limit ?? null),
      rate_period: newer ? (request.limits.rate?.periodSeconds ?? null) : (current?.rate_period ?? null),
      concurrency: newer ? request.limits.concurrency : (current?.concurrency ?? null),
      settings_from: newer ? request.settingsFrom : (current?.settings_from ?? request.settingsFrom),
      average_run_ms: current?.average_run_ms ?? DEFAULT_AVERAGE_RUN_MS,
      return_lag_ms: nextReturnLagMs(current?.return_lag_ms ?? 0, lateMs),
      last_seen: now,
    };
    this.sql.exec(
      `INSERT OR REPLACE INTO flow_meta
         (id, key, rate_limit, rate_period, concurrency, settings_from, average_run_ms, return_lag_ms, last_seen)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`,
      next.key,
      next.rate_limit,
      next.rate_period,
      next.concurrency,
      next.settings_from,
      next.average_run_ms,
      next.return_lag_ms,
      next.last_seen,
    );
    return next;
  }

  /** Writes only the window entries this decision added or grew; pruned entries were deleted already. */
  private saveWindow(before: StartWindow, after: StartWindow) {
    const counts = new Map(before);
    for (const [at, n] of after) {
      if (counts.get(at) === n) continue;
      this.sql.exec(
        "INSERT INTO flow_starts (at, n) VALUES (?, ?) ON CONFLICT (at) DO UPDATE SET n = excluded.n",
        at,
        n,
      );
    }
  }

  /** Keeps one alarm at the earliest time something may need cleaning. */
  private async wakeAt(at: number) {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
