// Names the KeyGate objects: one per (tenant, idempotency key), one per (tenant, flow key), one per (tenant, debounce key).
import type { KeyGate } from "./key-gate";

export type GateNamespace = DurableObjectNamespace<KeyGate>;

// Tenants never contain ":", so the tenant part cannot run into the key part.
export const idempotencyGate = (ns: GateNamespace, tenant: string, key: string) =>
  ns.get(ns.idFromName(`idem:${tenant}:${key}`));

export const flowGate = (ns: GateNamespace, tenant: string, key: string) =>
  ns.get(ns.idFromName(`flow:${tenant}:${key}`));

export const debounceGate = (ns: GateNamespace, tenant: string, key: string) =>
  ns.get(ns.idFromName(`debounce:${tenant}:${key}`));
