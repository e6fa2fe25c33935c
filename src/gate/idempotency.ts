// Pure idempotency rules: the request fingerprint, and what a claim on a key answers.

/** JSON with object keys sorted at every depth, so `{a, b}` and `{b, a}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** SHA-256 of type + canonical payload: stored instead of the payload, which may be large or sensitive. */
export async function fingerprint(type: string, payload: unknown): Promise<string> {
  const text = `${type}\n${canonicalJson(payload)}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** What the gate holds for a key: the job it is bound to, and until when. */
export type Claim = { jobId: string; fingerprint: string; expiresAt: number };

export type ClaimAnswer =
  /** The key was free: it is now bound to `jobId`, which the caller must create. */
  | { outcome: "claimed"; jobId: string }
  /**
   * The key is bound to `jobId` by an identical request. The job normally exists; if the first
   * request crashed before its insert, creating `jobId` now completes it.
   */
  | { outcome: "existing"; jobId: string }
  | { outcome: "conflict"; jobId: string };

/** The first claim wins until it expires; after that the key is free again. */
export function decideClaim(
  current: Claim | null,
  request: { fingerprint: string; proposedJobId: string },
  now: number,
): ClaimAnswer {
  if (!current || current.expiresAt <= now) return { outcome: "claimed", jobId: request.proposedJobId };
  if (current.fingerprint !== request.fingerprint) return { outcome: "conflict", jobId: current.jobId };
  return { outcome: "existing", jobId: current.jobId };
}
