// Webhook signing secret queries: one row per tenant, created on first use, rotated in place.
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "./client";
import { type WebhookSecretRow, webhookSecrets } from "./schema";

export type NewSecrets = { secret: string; httpSecret: string };

export async function getSecretRow(db: Db, tenant: string): Promise<WebhookSecretRow | undefined> {
  return db.select().from(webhookSecrets).where(eq(webhookSecrets.tenantId, tenant)).get();
}

/**
 * The tenant's secret row, created with `fresh` when it has none, and given `fresh.httpSecret` when it
 * predates the http job secret. Concurrent first uses all write only where nothing is set yet and read
 * back, so they agree on one pair of secrets.
 */
export async function ensureSecretRow(db: Db, tenant: string, fresh: NewSecrets, now: number) {
  const existing = await getSecretRow(db, tenant);
  if (existing?.httpSecret) return existing;
  const [, , rows] = await db.batch([
    db
      .insert(webhookSecrets)
      .values({ tenantId: tenant, secret: fresh.secret, httpSecret: fresh.httpSecret, createdAt: now })
      .onConflictDoNothing(),
    db
      .update(webhookSecrets)
      .set({ httpSecret: fresh.httpSecret })
      .where(and(eq(webhookSecrets.tenantId, tenant), isNull(webhookSecrets.httpSecret))),
    db.select().from(webhookSecrets).where(eq(webhookSecrets.tenantId, tenant)),
  ]);
  return rows[0] as WebhookSecretRow;
}

/** Several tenants' rows in one query (the callback consumer signs for every tenant in a batch). */
export async function getSecretRows(db: Db, tenants: string[]): Promise<WebhookSecretRow[]> {
  if (tenants.length === 0) return [];
  return db.select().from(webhookSecrets).where(inArray(webhookSecrets.tenantId, tenants));
}

/** The current secrets become the previous ones (valid until `previousExpiresAt`); `fresh` take their place. */
export async function rotateSecretRow(
  db: Db,
  tenant: string,
  fresh: NewSecrets,
  now: number,
  previousExpiresAt: number,
): Promise<WebhookSecretRow | undefined> {
  const [row] = await db
    .update(webhookSecrets)
    .set({
      previousSecret: webhookSecrets.secret,
      secret: fresh.secret,
      previousHttpSecret: webhookSecrets.httpSecret,
      httpSecret: fresh.httpSecret,
      previousExpiresAt,
      rotatedAt: now,
    })
    .where(eq(webhookSecrets.tenantId, tenant))
    .returning();
  return row;
}
