// Moves a request onto its tenant's shard once the tenant is known: from here on c.env.DB and c.var.db are the
// shard's database, and every message the request sends names the shard. The control database stays c.var.control.
import type { Context } from "hono";
import { configOf, shardEnvOf } from "../core/config";
import { d1Of, openDb } from "../db/client";
import { tenantShard } from "../db/tenant-shards";
import type { AppEnv } from "./app-env";

export async function enterTenantShard<E extends AppEnv>(c: Context<E>, tenant: string): Promise<void> {
  const { shards } = configOf(c.env);
  // One shard: nothing to look up, the request stays on DB.
  if (shards.length === 1) return;
  const shard = await tenantShard(d1Of(c.var.control), shards, tenant, Date.now());
  // Always set, even when c.env already is the shard's env (an in-process call from a dashboard page): c.var.db
  // starts as the control database on every request.
  const env = shardEnvOf(c.env, shard);
  c.env = env;
  c.set("db", openDb(env.DB));
}
