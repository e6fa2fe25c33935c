// The contract's error codes and error body shape, and the ApiError that carries them.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

/** The contract's error codes; listed once here, they also become the OpenAPI Error schema's enum. */
export const ERROR_CODES = [
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "idempotency_conflict",
  "payload_too_large",
  "unsupported_media_type",
  "unknown_job_type",
  "rate_limited",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export type Issue = { path: string; message: string };

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  // An addition to the contract's list: a JSON route given a body that is not sent as application/json.
  unsupported_media_type: 415,
  unknown_job_type: 422,
  rate_limited: 429,
  internal: 500,
};

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
  get status() {
    return STATUS[this.code];
  }
}

export const notFound = (what = "resource") => new ApiError("not_found", `${what} not found`);

export function zodIssues(error: ZodError, prefix = ""): Issue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

export function errorBody(code: ErrorCode, message: string, issues?: Issue[]) {
  return { error: { code, message, ...(issues ? { issues } : {}) } };
}
