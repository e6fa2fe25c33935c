// The limits harness: when the dev-only ENFORCE_PLATFORM_LIMITS var names a plan, one invocation's bindings
// (D1, the jobs queue, the KeyGate namespace) throw on anything Cloudflare's production would refuse.
import { configOf } from "../core/config";
import { invocationBudget } from "./budget";
import { guardD1 } from "./d1-guard";
import { guardNamespace } from "./namespace-guard";
import { limitsFromVar } from "./platform-limits";
import { guardBatch, guardQueue } from "./queue-guard";
import { guardSqlStorage } from "./sql-storage-guard";

export { LIMITS, type LimitsPlan, limitsFromVar, type PlatformLimits } from "./platform-limits";
export { PlatformLimitError, takeViolations } from "./violations";
export { guardBatch, guardD1, guardNamespace, guardQueue, guardSqlStorage, invocationBudget };

/** The env of one invocation, guarded; unchanged when enforcement is off (production). */
export function withPlatformLimits(env: Env): Env {
  const limits = limitsFromVar(env.ENFORCE_PLATFORM_LIMITS);
  if (!limits) return env;
  const budget = invocationBudget(limits);
  const guarded: Record<string, unknown> = {
    ...env,
    DB: guardD1(env.DB, budget),
    KEY_GATE: guardNamespace(env.KEY_GATE, budget),
  };
  // Every shard's database (JOBS_DBS) too: the 1,000 queries per invocation are shared by all of them.
  for (const shard of configOf(env).shards) {
    const db = (env as unknown as Record<string, D1Database | undefined>)[shard];
    if (shard !== "DB" && db) guarded[shard] = guardD1(db, budget);
  }
  // Every lane's producer (JOBS_QUEUE, JOBS_QUEUE_CRITICAL, …) shares the invocation's budget.
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith("JOBS_QUEUE")) guarded[name] = guardQueue(value as Queue, budget);
  }
  return guarded as unknown as Env;
}

/** A delivered batch guarded the same way (retry delays), or unchanged when enforcement is off. */
export function withBatchLimits<T>(batch: MessageBatch<T>, env: Env): MessageBatch<T> {
  const limits = limitsFromVar(env.ENFORCE_PLATFORM_LIMITS);
  return limits ? guardBatch(batch, limits) : batch;
}

/** A Durable Object's SQL storage, guarded per statement when enforcement is on (call it in the object's constructor). */
export function sqlWithPlatformLimits(sql: SqlStorage, env: Env): SqlStorage {
  const limits = limitsFromVar(env.ENFORCE_PLATFORM_LIMITS);
  return limits ? guardSqlStorage(sql, limits) : sql;
}
