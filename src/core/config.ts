// The deployment's configuration, parsed once per Env object from its string vars (wrangler.toml [vars], .dev.vars).
// It sits in core, not service: webhooks, the scheduler and the meters read it too, and they sit below service.

import { type LaneRouter, laneRouterOf, parseLanes } from "./lanes";

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
    | "LANES",
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
  };
}

// Keyed by the Env object: each invocation's env (and each test's spread of it) is parsed once.
const parsed = new WeakMap<object, Config>();

export function configOf(env: ConfigVars): Config {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env);
    parsed.set(env, config);
  }
  return config;
}

const routers = new WeakMap<object, LaneRouter>();

/** The producer for every lane of this env (one per Env object, like its config): sends route by the message's lane. */
export function jobQueueOf(env: ConfigVars): LaneRouter {
  let router = routers.get(env);
  if (!router) {
    router = laneRouterOf(env as Record<string, unknown>, configOf(env).lanes);
    routers.set(env, router);
  }
  return router;
}
