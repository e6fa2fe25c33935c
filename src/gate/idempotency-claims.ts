// Enqueue's idempotency step: claim each keyed row's key in its KeyGate and give the row the job id the key is bound to.
import { IdempotencyConflictError } from "../core/enqueue-errors";
import { type GateNamespace, idempotencyGate } from "./gate-client";
import { fingerprint } from "./idempotency";

export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

export type KeyedItem = {
  /** The row about to be inserted; its id is replaced by the one the key is bound to. */
  row: { id: string; idempotencyKey?: string | null };
  type: string;
  payload: unknown;
  ttlSeconds?: number;
  /** Where the item sits in the request, for the error's issue path. */
  path: string;
};

/**
 * One gate call per distinct key (all in parallel). Rows sharing a key in one request must be the
 * same request, and become the same job. On a conflict, claims this call made are undone and the
 * whole request is refused, so a refused request leaves no key bound.
 */
export async function claimIdempotencyKeys(ns: GateNamespace, tenant: string, items: KeyedItem[]): Promise<void> {
  const byKey = new Map<string, { fingerprint: string; items: KeyedItem[]; ttlSeconds: number }>();
  for (const item of items) {
    const key = item.row.idempotencyKey;
    if (!key) continue;
    const print = await fingerprint(item.type, item.payload);
    const group = byKey.get(key);
    if (!group) {
      byKey.set(key, {
        fingerprint: print,
        items: [item],
        ttlSeconds: item.ttlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS,
      });
    } else if (group.fingerprint !== print) {
      throw new IdempotencyConflictError(key, item.path);
    } else group.items.push(item);
  }
  if (byKey.size === 0) return;

  const groups = [...byKey.entries()];
  const answers = await Promise.all(
    groups.map(([key, group]) =>
      idempotencyGate(ns, tenant, key).claim({
        fingerprint: group.fingerprint,
        proposedJobId: group.items[0]?.row.id ?? "",
        ttlSeconds: group.ttlSeconds,
      }),
    ),
  );
  const conflictAt = answers.findIndex((a) => a.outcome === "conflict");
  if (conflictAt >= 0) {
    // Best effort: a claim left behind still only binds the key to an identical request's job id.
    await Promise.allSettled(
      groups.map(([key], i) =>
        answers[i]?.outcome === "claimed"
          ? idempotencyGate(ns, tenant, key).unclaim(answers[i].jobId)
          : Promise.resolve(),
      ),
    );
    const [key, group] = groups[conflictAt] as [string, { items: KeyedItem[] }];
    throw new IdempotencyConflictError(key, group.items[0]?.path ?? "");
  }
  groups.forEach(([, group], i) => {
    const jobId = answers[i]?.jobId;
    if (jobId) for (const item of group.items) item.row.id = jobId;
  });
}
