// Duration histograms with fixed log-scale buckets: place a duration, merge counts, estimate percentiles.

/** Upper bounds in ms; the last bucket holds everything slower. The same order as metrics_minute.duration_buckets. */
export const BUCKET_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, Number.POSITIVE_INFINITY];

export type Buckets = number[];

export const emptyBuckets = (): Buckets => BUCKET_BOUNDS_MS.map(() => 0);

/** The index of the first bucket whose upper bound is at or above `ms`. */
export function bucketIndex(ms: number): number {
  const index = BUCKET_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return index === -1 ? BUCKET_BOUNDS_MS.length - 1 : index;
}

export function addBuckets(a: Buckets, b: Buckets): Buckets {
  return BUCKET_BOUNDS_MS.map((_, i) => (a[i] ?? 0) + (b[i] ?? 0));
}

/** Reads a stored bucket array; anything malformed counts as empty rather than breaking a metrics read. */
export function parseBuckets(json: string): Buckets {
  try {
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value)) return emptyBuckets();
    return BUCKET_BOUNDS_MS.map((_, i) => {
      const n = value[i];
      return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0;
    });
  } catch {
    return emptyBuckets();
  }
}

/**
 * The q-quantile (0 < q ≤ 1) estimated from bucket counts, interpolating linearly inside the bucket
 * the rank falls in (as Prometheus' histogram_quantile does). The open top bucket answers its lower
 * bound, the largest value the buckets can vouch for. Null when nothing was recorded.
 */
export function percentile(buckets: Buckets, q: number): number | null {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < BUCKET_BOUNDS_MS.length; i++) {
    const count = buckets[i] ?? 0;
    if (count > 0 && below + count >= rank) {
      const lower = i === 0 ? 0 : (BUCKET_BOUNDS_MS[i - 1] as number);
      const upper = BUCKET_BOUNDS_MS[i] as number;
      if (!Number.isFinite(upper)) return lower;
      return Math.round(lower + (upper - lower) * ((rank - below) / count));
    }
    below += count;
  }
  return null;
}
