// API key queries: keys are stored only as SHA-256 hashes.
import { desc, eq } from "drizzle-orm";
import type { Db } from "./client";
import { type ApiKeyRow, apiKeys } from "./schema";

export async function findKeyByHash(db: Db, keyHash: string): Promise<ApiKeyRow | undefined> {
  return db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash)).get();
}

export async function insertKey(db: Db, row: ApiKeyRow): Promise<void> {
  await db.insert(apiKeys).values(row).run();
}

export async function listKeys(db: Db): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).orderBy(desc(apiKeys.id));
}

export async function deleteKey(db: Db, id: string): Promise<boolean> {
  const deleted = await db.delete(apiKeys).where(eq(apiKeys.id, id)).returning({ id: apiKeys.id });
  return deleted.length > 0;
}

/** Every tenant that has a key: the tick's per-tenant sweeps walk this small list. */
export async function listTenants(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ tenantId: apiKeys.tenantId }).from(apiKeys);
  return rows.map((r) => r.tenantId);
}
