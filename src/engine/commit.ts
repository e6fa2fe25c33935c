// The commit stage: a wave's writes in one D1 batch (one transaction); each write learns whether it matched its row.

import { describeError } from "../core/errors";
import { landed } from "../db/consumer-statements";

export type Write<T> = { statement: D1PreparedStatement; tag: T };

/** `landed`: the write matched a row; `result` for writes that answer rows (RETURNING). */
export type Committed<T> =
  | { ok: true; writes: { tag: T; landed: boolean; result: D1Result | undefined }[] }
  | { ok: false; error: string };

/** Commits every write or none. Never throws: a failed batch is an answer the caller acts on. */
export async function commit<T>(d1: D1Database, writes: readonly Write<T>[]): Promise<Committed<T>> {
  if (writes.length === 0) return { ok: true, writes: [] };
  try {
    const results = await d1.batch(writes.map((w) => w.statement));
    return {
      ok: true,
      writes: writes.map((w, i) => {
        const result = results[i];
        return { tag: w.tag, landed: result ? landed(result) : false, result };
      }),
    };
  } catch (err) {
    return { ok: false, error: describeError(err).message };
  }
}
