// The deployment's configuration, parsed once per Env object from its string vars (wrangler.toml [vars], .dev.vars).
// It sits in core, not service: webhooks, the scheduler and the meters read it too, and they sit below service.

import { type LaneRouter, laneRouterOf, parseLanes } from "./lanes";
import { CONTROL_DB, parseShards } from "./shards";

export type Config = {
  /** Largest accepted payload, in bytes of its JSON. */
  payloadLimitBytes: number;
  /** Local development only: lets http jobs and callbacks reach private and loopback addresses. */
  allowPrivateTargets: boolean;
  /** How long a `queued` row may wait for its message before the tick re-sends it. */
  outboxGraceMs: number;
  /** Days a finished job is kept, and a dead one. */
  retentionDays: { finished: number; dead: number };
  /** The LOG_LEVEL var as given ("warn" and "error" drop info lines). */
  logLevel: string | undefined;
  /** The lanes the LANES var declares (always including `default`); each has its own queue binding. */
  lanes: readonly string[];
  /** The D1 bindings job storage is spread over (JOBS_DBS); the first is always DB, the control database. */
  shards: readonly string[];
};

export const DEFAULT_PAYLOAD_LIMIT_BYTES = 262_144;
const DEFAULT_OUTBOX_GRACE_SECONDS = 300;

/** A positive number from a var, or the default when it is unset, empty or not a positive number. */
function positive(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value && Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
}

/** The vars this file reads; a user's own Env may leave any of them out. */
export type ConfigVars = Partial<
  Record<
    | "PAYLOAD_LIMIT_BYTES"
    | "ALLOW_PRIVATE_TARGETS"
    | "OUTBOX_GRACE_SECONDS"
    | "RETENTION_DAYS"
    | "DEAD_RETENTION_DAYS"
    | "LOG_LEVEL"
    | "LANES"
    | "JOBS_DBS",
    string
  >
>;

export function parseConfig(vars: ConfigVars): Config {
  return {
    payloadLimitBytes: positive(vars.PAYLOAD_LIMIT_BYTES, DEFAULT_PAYLOAD_LIMIT_BYTES),
    allowPrivateTargets: vars.ALLOW_PRIVATE_TARGETS === "true",
    outboxGraceMs: positive(vars.OUTBOX_GRACE_SECONDS, DEFAULT_OUTBOX_GRACE_SECONDS) * 1000,
    retentionDays: { finished: positive(vars.RETENTION_DAYS, 7), dead: positive(vars.DEAD_RETENTION_DAYS, 30) },
    logLevel: vars.LOG_LEVEL,
    lanes: parseLanes(vars.LANES),
    shards: parseShards(vars.JOBS_DBS),
  };
}

// Keyed by the Env object: each invocation's env (and each test's spread of it) is parsed once.
const configs = new WeakMap<object, Config>();

export function configOf(env: ConfigVars): Config {
  let config = configs.get(env);
  if (!config) {
    config = parseConfig(env);
    configs.set(env, config);
  }
  return config;
}

const routers = new WeakMap<object, LaneRouter>();

/** The producer for every lane of this env (one per Env object, like its config): sends route by the message's lane. */
export function jobQueueOf(env: ConfigVars): LaneRouter {
  let router = routers.get(env);
  if (!router) {
    router = laneRouterOf(env as Record<string, unknown>, configOf(env).lanes, stamps.get(env));
    routers.set(env, router);
  }
  return router;
}

/** Shard envs → the shard their messages are stamped with (only when the deployment has more than one). */
const stamps = new WeakMap<object, string>();
/** Shard envs → the env they were made from, whose DB is the control database. */
const controls = new WeakMap<object, object>();
const shardEnvs = new WeakMap<object, Map<string, object>>();

/**
 * The env one shard's work runs on: DB is that shard's database, and every job message sent through its queue
 * (jobQueueOf) names the shard, so its consumer never looks the tenant up. Everything below the entry points reads
 * env.DB and so stays shard-unaware. One shard: the env itself, unchanged. Made once per env and shard, so the
 * per-env caches (config, lane router) keep working.
 */
export function shardEnvOf<E extends ConfigVars & { DB: D1Database }>(given: E, shard: string): E {
  // A shard's env (an in-process call made from one) is re-based on the Worker's own.
  const env = (controls.get(given) as E | undefined) ?? given;
  const { shards } = configOf(env);
  if (shards.length === 1 && shard === CONTROL_DB) return env;
  let byShard = shardEnvs.get(env);
  if (!byShard) {
    byShard = new Map();
    shardEnvs.set(env, byShard);
  }
  let sharded = byShard.get(shard) as E | undefined;
  if (!sharded) {
    if (!shards.includes(shard)) throw new UnknownShardError(shard, shards);
    const db = (env as Record<string, unknown>)[shard] as D1Database | undefined;
    if (!db || typeof db.prepare !== "function") {
      throw new Error(`shard "${shard}" is listed in JOBS_DBS but the Worker has no D1 binding ${shard}`);
    }
    sharded = { ...env, DB: db };
    stamps.set(sharded, shard);
    controls.set(sharded, env);
    configs.set(sharded, configOf(env));
    byShard.set(shard, sharded);
  }
  return sharded;
}

/** The shard an env's DB is: DB for the Worker's own env. */
export function shardNameOf(env: object): string {
  return stamps.get(env) ?? CONTROL_DB;
}

/** The control database of an env, whether it is a shard's env or the Worker's own. */
export function controlDbOf(env: { DB: D1Database }): D1Database {
  return ((controls.get(env) as { DB: D1Database } | undefined) ?? env).DB;
}

/** A message or tenant names a shard JOBS_DBS does not list (it was removed, or the message is forged). */
export class UnknownShardError extends Error {
  constructor(shard: string, shards: readonly string[]) {
    super(`shard "${shard}" is not listed in JOBS_DBS (${shards.join(", ")})`);
  }
}
