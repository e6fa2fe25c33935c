// Webhook signing secret queries: one row per tenant, created on first use, rotated in place.
import { eq, inArray } from "drizzle-orm";
import type { Db } from "./client";
import { type WebhookSecretRow, webhookSecrets } from "./schema";

export async function getSecretRow(db: Db, tenant: string): Promise<WebhookSecretRow | undefined> {
  return db.select().from(webhookSecrets).where(eq(webhookSecrets.tenantId, tenant)).get();
}

/**
 * The tenant's secret row, created with `secret` when it has none. Two concurrent first uses
 * both insert-or-ignore and read back, so they agree on one secret.
 */
export async function ensureSecretRow(db: Db, tenant: string, secret: string, now: number) {
  const existing = await getSecretRow(db, tenant);
  if (existing) return existing;
  const [, rows] = await db.batch([
    db.insert(webhookSecrets).values({ tenantId: tenant, secret, createdAt: now }).onConflictDoNothing(),
    db.select().from(webhookSecrets).where(eq(webhookSecrets.tenantId, tenant)),
  ]);
  return rows[0] as WebhookSecretRow;
}

/** Several tenants' rows in one query (the callback consumer signs for every tenant in a batch). */
export async function getSecretRows(db: Db, tenants: string[]): Promise<WebhookSecretRow[]> {
  if (tenants.length === 0) return [];
  return db.select().from(webhookSecrets).where(inArray(webhookSecrets.tenantId, tenants));
}

/** The current secret becomes the previous one (valid until `previousExpiresAt`); `secret` takes its place. */
export async function rotateSecretRow(
  db: Db,
  tenant: string,
  secret: string,
  now: number,
  previousExpiresAt: number,
): Promise<WebhookSecretRow | undefined> {
  const [row] = await db
    .update(webhookSecrets)
    .set({ previousSecret: webhookSecrets.secret, secret, previousExpiresAt, rotatedAt: now })
    .where(eq(webhookSecrets.tenantId, tenant))
    .returning();
  return row;
}
