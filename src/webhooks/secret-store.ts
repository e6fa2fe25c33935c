// Reads, creates and rotates tenants' signing secrets in D1, and picks the secret for each purpose (secrets.ts).
import type { Db } from "../db/client";
import { ensureSecretRow, getSecretRows, rotateSecretRow } from "../db/webhook-secrets";
import {
  type CompleteSecretRecord,
  newSecret,
  ROTATION_GRACE_MS,
  type SecretRecord,
  type SigningPurpose,
  signingSecrets,
} from "./secrets";

const freshSecrets = () => ({ secret: newSecret(), httpSecret: newSecret() });
const isComplete = <R extends SecretRecord>(record: R): record is R & CompleteSecretRecord =>
  record.httpSecret !== null;

/** The tenant's secret record, complete; the first use creates it. */
export async function tenantSecret(db: Db, tenant: string, now: number): Promise<CompleteSecretRecord> {
  const record = await ensureSecretRow(db, tenant, freshSecrets(), now);
  if (!isComplete(record)) throw new Error("the webhook secret row has no http secret after filling it");
  return record;
}

/** The secrets that sign the tenant's `http` job requests (never a callback). */
export async function httpJobSigningSecrets(db: Db, tenant: string, now: number): Promise<string[]> {
  return signingSecrets(await tenantSecret(db, tenant, now), now, "http");
}

/** The secrets that sign one tenant's callbacks (never an http job's request). */
export async function callbackSigningSecrets(db: Db, tenant: string, now: number): Promise<string[]> {
  return signingSecrets(await tenantSecret(db, tenant, now), now, "callback");
}

/** Callback signing secrets for many tenants: one read, plus a write only for tenants whose row is missing or incomplete. */
export async function callbackSigningSecretsByTenant(
  db: Db,
  tenants: string[],
  now: number,
): Promise<Map<string, string[]>> {
  return secretsByTenant(db, tenants, now, "callback");
}

async function secretsByTenant(db: Db, tenants: string[], now: number, purpose: SigningPurpose) {
  const rows = await getSecretRows(db, tenants);
  const byTenant = new Map(rows.filter(isComplete).map((row) => [row.tenantId, signingSecrets(row, now, purpose)]));
  for (const tenant of tenants) {
    if (!byTenant.has(tenant)) byTenant.set(tenant, signingSecrets(await tenantSecret(db, tenant, now), now, purpose));
  }
  return byTenant;
}

/** New current secrets for both purposes; the old ones keep signing beside them for ROTATION_GRACE_MS. */
export async function rotateTenantSecret(db: Db, tenant: string, now: number): Promise<CompleteSecretRecord> {
  await tenantSecret(db, tenant, now);
  const rotated = await rotateSecretRow(db, tenant, freshSecrets(), now, now + ROTATION_GRACE_MS);
  if (!rotated || !isComplete(rotated)) throw new Error("the webhook secret row vanished during rotation");
  return rotated;
}
