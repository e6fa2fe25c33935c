// Refusals over RPC: answered as values with the HTTP contract's code and issues, never thrown.
import type { ErrorCode, Issue } from "../contract/errors";
import type { Logger } from "../core/logger";
import { toApiError } from "../http/errors";

/** What a 4xx body says over HTTP. */
export type Refusal = { code: ErrorCode; message: string; issues: Issue[] };

/**
 * A refusal is an answer, as a 4xx is over HTTP: thrown across RPC it would show as an exception of
 * Edge Jobs' invocation (and its error rate) for what is the caller's mistake. Anything else (a
 * failing D1, a bug) is logged and rethrown without internals, the twin of a 500.
 */
export function refusalOf(err: unknown, log: Logger): Refusal {
  const apiError = toApiError(err);
  if (apiError.code === "internal") {
    log.error("unhandled error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    throw new Error("Edge Jobs failed to answer; its logs have the details");
  }
  return { code: apiError.code, message: apiError.message, issues: apiError.issues ?? [] };
}
