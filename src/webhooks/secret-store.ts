// Reads, creates and rotates tenants' signing secrets in D1, through the pure rules in secrets.ts.
import type { Db } from "../db/client";
import { ensureSecretRow, getSecretRows, rotateSecretRow } from "../db/webhook-secrets";
import { newSecret, ROTATION_GRACE_MS, type SecretRecord, signingSecrets } from "./secrets";

/** The tenant's secret record; the first use creates it. */
export const tenantSecret = (db: Db, tenant: string, now: number): Promise<SecretRecord> =>
  ensureSecretRow(db, tenant, newSecret(), now);

export async function tenantSigningSecrets(db: Db, tenant: string, now: number): Promise<string[]> {
  return signingSecrets(await tenantSecret(db, tenant, now), now);
}

/** Signing secrets for many tenants: one read, plus a creation only for tenants that never had one. */
export async function signingSecretsByTenant(db: Db, tenants: string[], now: number): Promise<Map<string, string[]>> {
  const rows = await getSecretRows(db, tenants);
  const byTenant = new Map(rows.map((row) => [row.tenantId, signingSecrets(row, now)]));
  for (const tenant of tenants) {
    if (!byTenant.has(tenant)) byTenant.set(tenant, await tenantSigningSecrets(db, tenant, now));
  }
  return byTenant;
}

/** A new current secret; the old one keeps signing beside it for ROTATION_GRACE_MS. */
export async function rotateTenantSecret(db: Db, tenant: string, now: number): Promise<SecretRecord> {
  await tenantSecret(db, tenant, now);
  const rotated = await rotateSecretRow(db, tenant, newSecret(), now, now + ROTATION_GRACE_MS);
  if (!rotated) throw new Error("the webhook secret row vanished during rotation");
  return rotated;
}
