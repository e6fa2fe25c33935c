// API key queries: keys are stored only as SHA-256 hashes.
import { desc, eq } from "drizzle-orm";
import type { Db } from "./client";
import { type ApiKeyRow, apiKeys } from "./schema";
import { recordTenantStatements, rememberTenant } from "./tenants";

export async function findKeyByHash(db: Db, keyHash: string): Promise<ApiKeyRow | undefined> {
  return db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash)).get();
}

/** The key and, the first time this isolate sees its tenant, the tenants row (so a keyed tenant is swept before its first job). */
/**
 * The key, and the tenant's `tenants` row when its jobs live in the control database too (one shard, or a tenant
 * placed on DB); a tenant on another shard gets that row in its shard (src/http/routes/keys.ts).
 */
export async function insertKey(db: Db, row: ApiKeyRow, recordTenantHere = true): Promise<void> {
  const tenantRows = recordTenantHere ? recordTenantStatements(db, row.tenantId, row.createdAt) : [];
  await db.batch([db.insert(apiKeys).values(row), ...tenantRows]);
  if (recordTenantHere) rememberTenant(row.tenantId);
}

export async function listKeys(db: Db): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).orderBy(desc(apiKeys.id));
}

export async function deleteKey(db: Db, id: string): Promise<boolean> {
  const deleted = await db.delete(apiKeys).where(eq(apiKeys.id, id)).returning({ id: apiKeys.id });
  return deleted.length > 0;
}
