// Dashboard session queries: a session is stored by the hash of its id, and lives only while its API key does.
import { and, eq, gt, inArray, lte } from "drizzle-orm";
import type { Db } from "./client";
import { apiKeys, type DashboardSessionRow, dashboardSessions } from "./schema";

/** Stores a new session and drops this key's expired ones, in one round trip. */
export async function insertSession(db: Db, row: DashboardSessionRow): Promise<void> {
  await db.batch([
    db
      .delete(dashboardSessions)
      .where(and(eq(dashboardSessions.keyId, row.keyId), lte(dashboardSessions.expiresAt, row.createdAt))),
    db.insert(dashboardSessions).values(row),
  ]);
}

/**
 * The live session with this id hash: not expired, and its API key still exists (so revoking a key
 * ends its sessions on every isolate at once, whatever any key cache says).
 */
export async function findLiveSession(
  db: Db,
  idHash: string,
  now: number,
): Promise<{ tenantId: string; keyId: string } | undefined> {
  return db
    .select({ tenantId: dashboardSessions.tenantId, keyId: dashboardSessions.keyId })
    .from(dashboardSessions)
    .innerJoin(apiKeys, eq(apiKeys.id, dashboardSessions.keyId))
    .where(and(eq(dashboardSessions.idHash, idHash), gt(dashboardSessions.expiresAt, now)))
    .get();
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db.delete(dashboardSessions).where(eq(dashboardSessions.idHash, idHash)).run();
}

/** Ends every dashboard session signed in with this key (the key was revoked). */
export async function deleteSessionsOfKey(db: Db, keyId: string): Promise<number> {
  const deleted = await db
    .delete(dashboardSessions)
    .where(eq(dashboardSessions.keyId, keyId))
    .returning({ idHash: dashboardSessions.idHash });
  return deleted.length;
}

/**
 * Deletes up to `limit` expired sessions (for the tick's housekeeping): sessions nobody signs out of
 * would otherwise stay until their key signs in again. No index on the expiry: the table is small
 * (one row per sign-in in the last hours), so a bounded scan reads little and every sign-in writes less.
 */
export async function pruneExpiredSessions(db: Db, now: number, limit = 500): Promise<number> {
  const expired = db
    .select({ idHash: dashboardSessions.idHash })
    .from(dashboardSessions)
    .where(lte(dashboardSessions.expiresAt, now))
    .limit(limit);
  const deleted = await db
    .delete(dashboardSessions)
    .where(inArray(dashboardSessions.idHash, expired))
    .returning({ idHash: dashboardSessions.idHash });
  return deleted.length;
}
