// Tenants: one row each, recorded on a tenant's first job (any path) or key; the tick's sweeps walk them in pages.
import { idFloor } from "../core/ids";
import { RESCUE_WINDOW_MS } from "../core/rescue-window";
import type { Db } from "./client";
import { tenants } from "./schema";

/** Tenants this isolate has already recorded: the steady-state enqueue writes no tenant row. */
const recorded = new Set<string>();

/**
 * The insert for a tenant not yet recorded by this isolate, or nothing. Its fresh-id rescue starts a
 * window before now: every id its jobs get from here on is newer (an older id is flagged, see rescue-window.ts).
 */
export function recordTenantStatements(db: Db, tenant: string, now: number) {
  if (recorded.has(tenant)) return [];
  return [
    db
      .insert(tenants)
      .values({ tenantId: tenant, createdAt: now, rescueFrom: idFloor("job", now - RESCUE_WINDOW_MS) })
      .onConflictDoNothing(),
  ];
}

/** After the statements of recordTenantStatements committed. */
export function rememberTenant(tenant: string): void {
  recorded.add(tenant);
}

/** INSERT OR IGNORE once per isolate per tenant. */
export async function recordTenant(db: Db, tenant: string, now: number): Promise<void> {
  const [insert] = recordTenantStatements(db, tenant, now);
  if (!insert) return;
  await insert.run();
  rememberTenant(tenant);
}
