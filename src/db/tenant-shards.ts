// Where each tenant lives (issue #17): one row per tenant in the control database's tenant_shards, cached per isolate.
// With one shard nothing is read or written: every tenant is DB's.
import { CONTROL_DB } from "../core/shards";

/**
 * Tenants this isolate has resolved, trusted for a minute (like API keys), so a moved tenant (README "Scale") is
 * read from its new shard everywhere within a minute. Bounded: the oldest entry goes first (a re-read is one SELECT).
 */
const MAX_CACHED = 10_000;
const CACHE_MS = 60_000;
const cached = new Map<string, { shard: string; at: number }>();

function remember(tenant: string, shard: string, now: number): void {
  if (cached.size >= MAX_CACHED) cached.delete(cached.keys().next().value as string);
  cached.set(tenant, { shard, at: now });
}

/** Forgets a tenant's cached shard (a moved tenant), or every one. */
export function forgetTenantShard(tenant?: string): void {
  if (tenant === undefined) cached.clear();
  else cached.delete(tenant);
}

/**
 * The tenant's shard: the isolate's cache, else its tenant_shards row, else a new placement. A new tenant goes to
 * the shard with the fewest tenants (ties: the first listed), except one whose jobs predate sharding (it has a
 * `tenants` row in DB, the only shard there was), which stays in DB. The placement is one INSERT … SELECT that does
 * nothing when another request placed the tenant first, and the same round trip reads back whichever won.
 */
export async function tenantShard(
  control: D1Database,
  shards: readonly string[],
  tenant: string,
  now: number,
): Promise<string> {
  if (shards.length === 1) return CONTROL_DB;
  const known = cached.get(tenant);
  if (known && now - known.at < CACHE_MS) return known.shard;
  const read = control.prepare("SELECT shard FROM tenant_shards WHERE tenant_id = ?1").bind(tenant);
  let shard = await read.first<string>("shard");
  if (shard === null) {
    const [, placed] = await control.batch<{ shard: string }>([placement(control, shards, tenant, now), read]);
    shard = placed?.results[0]?.shard ?? null;
    if (shard === null) throw new Error(`tenant "${tenant}" could not be placed on a shard`);
  }
  remember(tenant, shard, now);
  return shard;
}

function placement(control: D1Database, shards: readonly string[], tenant: string, now: number): D1PreparedStatement {
  // Binding names are checked by parseShards (A-Z, 0-9, _), so they are safe as SQL literals; as literals the list
  // costs no bound parameters (D1 allows 100 per statement), whatever the number of shards.
  const candidates = shards.map((name, i) => `SELECT '${name}' AS name, ${i} AS ord`).join(" UNION ALL ");
  return control
    .prepare(
      `INSERT INTO tenant_shards (tenant_id, shard, placed_at)
       SELECT ?1, CASE WHEN EXISTS (SELECT 1 FROM tenants WHERE tenant_id = ?1) THEN '${CONTROL_DB}' ELSE (
         SELECT s.name FROM (${candidates}) s
         LEFT JOIN tenant_shards t ON t.shard = s.name
         GROUP BY s.name, s.ord ORDER BY count(t.tenant_id), s.ord LIMIT 1
       ) END, ?2
       ON CONFLICT (tenant_id) DO NOTHING`,
    )
    .bind(tenant, now);
}
