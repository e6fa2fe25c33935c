// A per-isolate cache of API key lookups, so most requests skip the D1 round trip that authenticates them.
import type { ApiKeyRow } from "../db/schema";

/**
 * How long a looked-up key is trusted. A revoked key stops working at once on the isolate that revoked
 * it and within this time everywhere else; an unknown key is never cached, so a new key works at once.
 */
export const KEY_CACHE_TTL_MS = 60_000;
const MAX_ENTRIES = 1_000;

const entries = new Map<string, { key: ApiKeyRow; expires: number }>();

export function cachedKey(hash: string, now: number): ApiKeyRow | undefined {
  const entry = entries.get(hash);
  if (!entry) return undefined;
  if (entry.expires <= now) {
    entries.delete(hash);
    return undefined;
  }
  return entry.key;
}

export function cacheKey(hash: string, key: ApiKeyRow, now: number): void {
  // Maps iterate in insertion order: dropping the first entry drops the oldest.
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
  entries.set(hash, { key, expires: now + KEY_CACHE_TTL_MS });
}

export function forgetKey(id: string): void {
  for (const [hash, entry] of entries) if (entry.key.id === id) entries.delete(hash);
}
