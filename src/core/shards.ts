// Shards (issue #17): job storage spread over several D1 databases. The JOBS_DBS var lists their bindings; the
// first is always DB, which is also the control database (API keys, dashboard sessions, where each tenant lives).
// A tenant's jobs, steps, batches, schedules, events and counters all live in its one shard, so no query spans two.

/** The control database's binding, and the first shard. */
export const CONTROL_DB = "DB";
/** An env binding name: it is also written into SQL text (tenant placement), so nothing else may pass. */
const BINDING_NAME = /^[A-Z][A-Z0-9_]{0,62}$/;

/**
 * The shard bindings a JOBS_DBS var lists ("DB,JOBS_DB_1,JOBS_DB_2"); ["DB"] when unset. Throws on a malformed or
 * repeated name, or a list not starting with DB: tenants placed before a second shard existed live in DB, so it
 * must stay the first shard (a message without a shard means it). New shards are appended; none is ever removed.
 */
export function parseShards(value: string | undefined): readonly string[] {
  const names = (value ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return [CONTROL_DB];
  for (const name of names) {
    if (!BINDING_NAME.test(name)) throw new Error(`JOBS_DBS: "${name}" is not a D1 binding name (A-Z, 0-9, _)`);
  }
  if (new Set(names).size !== names.length) throw new Error(`JOBS_DBS: "${value}" names a binding twice`);
  if (names[0] !== CONTROL_DB) throw new Error(`JOBS_DBS must start with ${CONTROL_DB}, the control database`);
  return names;
}

/** The shard a queue message names; a message without one (one shard, or sent before shards) is DB's. */
export function shardOfBody(body: unknown): string {
  const shard = typeof body === "object" && body !== null ? (body as { shard?: unknown }).shard : undefined;
  return typeof shard === "string" ? shard : CONTROL_DB;
}

/** The tick of one shard, sent by the cron invocation when there are several (src/scheduler/maintenance.ts). */
export type MaintenanceMessage = { kind: "maintenance"; shard: string; scheduledTime: number };

export function isMaintenanceMessage(body: unknown): body is MaintenanceMessage {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return b.kind === "maintenance" && typeof b.shard === "string" && typeof b.scheduledTime === "number";
}
