// The contract's error shape, and the single mapping from thrown errors to HTTP answers.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import {
  IdempotencyConflictError,
  PayloadTooLargeError,
  PayloadValidationError,
  UnknownJobTypeError,
} from "../queue/producer-errors";
import type { AppEnv } from "./app-env";

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

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UnknownJobTypeError) return new ApiError("unknown_job_type", err.message);
  if (err instanceof PayloadTooLargeError) return new ApiError("payload_too_large", err.message);
  if (err instanceof PayloadValidationError) return new ApiError("invalid_request", err.message, err.issues);
  if (err instanceof IdempotencyConflictError) return new ApiError("idempotency_conflict", err.message);
  if (err instanceof HTTPException) {
    if (err.status === 413) return new ApiError("payload_too_large", "request body too large");
    // The route validator's media-type gate: a body with another Content-Type, or with none.
    if (err.status === 415) {
      return new ApiError("unsupported_media_type", "send the body as JSON with Content-Type: application/json");
    }
    if (err.status === 401) return new ApiError("unauthorized", err.message || "unauthorized");
    // Hono raises 400 for bodies that are not JSON; anything else it raises is a bad request too.
    return new ApiError("invalid_request", err.message || "invalid request");
  }
  return new ApiError("internal", "internal error");
}

export function onError(err: unknown, c: Context<AppEnv>) {
  const apiError = toApiError(err);
  if (apiError.code === "internal") {
    c.var.log?.error("unhandled error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  for (const [name, value] of Object.entries(apiError.headers ?? {})) c.header(name, value);
  return c.json(errorBody(apiError.code, apiError.message, apiError.issues), apiError.status);
}
