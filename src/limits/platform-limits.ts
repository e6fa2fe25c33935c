// Cloudflare's production limits that local Miniflare does not enforce, per plan (D1, Queues, Workers subrequests).

/** "standard" is Workers Paid; "free" the Free plan. Off when the dev-only ENFORCE_PLATFORM_LIMITS var is unset. */
export type LimitsPlan = "standard" | "free";

export type PlatformLimits = {
  plan: LimitsPlan;
  /** D1: bound parameters per statement. */
  boundParameters: number;
  /** D1: bytes of SQL text per statement (1 KB = 1,000 bytes on Cloudflare's pages). */
  statementBytes: number;
  /** D1: queries per Worker invocation; every statement of a batch() counts. */
  queriesPerInvocation: number;
  /** Workers: subrequests per invocation (queue sends, Durable Object calls). */
  subrequestsPerInvocation: number;
  /** Queues: one message, with the ~100 bytes of metadata Cloudflare counts towards it. */
  messageBytes: number;
  /** Queues: messages per sendBatch. */
  batchMessages: number;
  /** Queues: bytes per sendBatch. */
  batchBytes: number;
  /** Queues: delaySeconds on send or retry (12 h; the newest limits page says 24 h, 12 h is what every account allows). */
  delaySeconds: number;
};

/** Bytes Cloudflare adds to each message and counts towards its size. */
export const MESSAGE_METADATA_BYTES = 100;

const STANDARD: PlatformLimits = {
  plan: "standard",
  boundParameters: 100,
  statementBytes: 100_000,
  queriesPerInvocation: 1_000,
  subrequestsPerInvocation: 1_000,
  messageBytes: 128_000,
  batchMessages: 100,
  batchBytes: 256_000,
  delaySeconds: 43_200,
};

export const LIMITS: Record<LimitsPlan, PlatformLimits> = {
  standard: STANDARD,
  free: { ...STANDARD, plan: "free", queriesPerInvocation: 50, subrequestsPerInvocation: 50 },
};

/** The plan named by ENFORCE_PLATFORM_LIMITS, or null (enforcement off). An unknown value is a mistake: it throws. */
export function limitsFromVar(value: string | undefined): PlatformLimits | null {
  if (!value) return null;
  if (value === "standard" || value === "free") return LIMITS[value];
  throw new Error(`ENFORCE_PLATFORM_LIMITS must be "standard", "free" or empty, not "${value}"`);
}
