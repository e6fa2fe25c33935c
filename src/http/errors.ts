// The single mapping from thrown errors to the contract's HTTP answers.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, errorBody } from "../contract/errors";
import {
  IdempotencyConflictError,
  PayloadTooLargeError,
  PayloadValidationError,
  UnknownJobTypeError,
} from "../core/enqueue-errors";
import type { AppEnv } from "./app-env";

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
