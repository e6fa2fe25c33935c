// Refusals over RPC: the same codes and issues as the HTTP answers, as own properties that survive the hop.
import { type ErrorCode, type Issue, toApiError } from "../http/errors";
import type { Logger } from "../jobs/logger";

/**
 * Workers RPC keeps an error's message and its own serializable properties (compatibility date
 * 2026-04-21 or later, `enhanced_error_serialization`), not its class: the caller reads `code`.
 */
export class JobsRpcError extends Error {
  readonly code: ErrorCode;
  readonly issues: Issue[];
  constructor(code: ErrorCode, message: string, issues: Issue[] = []) {
    super(message);
    this.name = "JobsRpcError";
    this.code = code;
    this.issues = issues;
  }
}

/** Maps what a call threw exactly as the HTTP layer would; internals are logged, never sent. */
export function toRpcError(err: unknown, log: Logger): JobsRpcError {
  if (err instanceof JobsRpcError) return err;
  const apiError = toApiError(err);
  if (apiError.code === "internal") {
    log.error("unhandled error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  return new JobsRpcError(apiError.code, apiError.message, apiError.issues ?? []);
}
