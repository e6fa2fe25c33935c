// Helpers that keep route definitions short: JSON bodies, JSON answers and the contract's error answers.
import type { z } from "@hono/zod-openapi";
import { ErrorSchema } from "../contract/schemas";

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
  required: true,
});

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const ERROR_DESCRIPTIONS = {
  400: "invalid_request: the body, query or path failed validation",
  401: "unauthorized: missing or unknown API key",
  403: "forbidden: the key may not use this route",
  404: "not_found",
  409: "conflict or idempotency_conflict",
  413: "payload_too_large",
  415: "unsupported_media_type: a JSON body sent without Content-Type: application/json",
  422: "unknown_job_type",
  429: "rate_limited",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, jsonContent(ErrorSchema, ERROR_DESCRIPTIONS[status])]),
  ) as Record<S, ReturnType<typeof jsonContent<typeof ErrorSchema>>>;
}
