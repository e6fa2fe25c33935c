// The enqueue-time target check: an http job's url and any callbackUrl must pass the guard, or the request is a 400.
import type { Issue } from "../contract/errors";
import { checkTarget } from "../webhooks/target-guard";

/** The job type whose payload names a URL to call (src/builtin/http.ts); kept here so the producer needs no task import. */
const HTTP_JOB_TYPE = "http";

export type GuardedEnqueue = { type: string; payload?: unknown; callbackUrl?: string | undefined };

/** Every refused target in one enqueue item, with the field it came from. Empty when all pass. */
/** Frozen: a caller that pushed onto the shared empty answer would throw instead of corrupting it. */
const NONE = Object.freeze([]) as unknown as Issue[];

export function refusedTargets(item: GuardedEnqueue, allowPrivate: boolean, path = ""): Issue[] {
  // Most jobs name no URL at all: nothing to check, nothing to allocate.
  if (item.type !== HTTP_JOB_TYPE && item.callbackUrl === undefined) return NONE;
  const at = (...parts: string[]) => [path, ...parts].filter(Boolean).join(".");
  const issues: Issue[] = [];
  if (item.type === HTTP_JOB_TYPE) {
    const url = (item.payload as { url?: unknown } | null)?.url;
    if (typeof url === "string") {
      const check = checkTarget(url, { allowPrivate });
      if (!check.ok) issues.push({ path: at("payload", "url"), message: check.reason });
    }
  }
  if (item.callbackUrl !== undefined) {
    const check = checkTarget(item.callbackUrl, { allowPrivate });
    if (!check.ok) issues.push({ path: at("callbackUrl"), message: check.reason });
    // Completion events carry the whole job: outside local development they travel over TLS only.
    else if (!allowPrivate && check.url.protocol !== "https:") {
      issues.push({ path: at("callbackUrl"), message: "must be an https URL" });
    }
  }
  return issues;
}
