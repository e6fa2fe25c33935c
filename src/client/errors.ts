// The client's one error type: every non-2xx answer becomes a JobsApiError carrying the contract's code.
import type { ApiErrorBody, ErrorCode, Issue } from "./types";

/** The code a status means when the answer did not carry the contract's body (a proxy's 502, say). */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unknown_job_type",
  429: "rate_limited",
};

export class JobsApiError extends Error {
  override readonly name = "JobsApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly issues: Issue[] = [],
    /** Seconds to wait before trying again, from `Retry-After` (rate limits). */
    readonly retryAfterSeconds: number | null = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}

const isErrorBody = (body: unknown): body is ApiErrorBody =>
  typeof body === "object" &&
  body !== null &&
  "error" in body &&
  typeof (body as ApiErrorBody).error?.code === "string" &&
  typeof (body as ApiErrorBody).error?.message === "string";

export function toJobsApiError(response: Response, body: unknown): JobsApiError {
  const retryAfter = Number(response.headers.get("retry-after"));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  const requestId = response.headers.get("x-request-id");
  if (isErrorBody(body)) {
    const { code, message, issues } = body.error;
    return new JobsApiError(code, message, response.status, issues ?? [], retryAfterSeconds, requestId);
  }
  const code = CODE_BY_STATUS[response.status] ?? "internal";
  return new JobsApiError(code, `HTTP ${response.status}`, response.status, [], retryAfterSeconds, requestId);
}
