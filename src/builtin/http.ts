// The built-in `http` job: a signed request to a URL, with retry rules that follow the answer's status.

import { z } from "zod";
import { configOf } from "../core/config";
import { defineJob } from "../core/define-job";
import { NonRetryableError, RetryAfterError, TimeoutError } from "../core/errors";
import { openDb } from "../db/client";
import { classifyResponse } from "../webhooks/response-policy";
import { httpJobSigningSecrets } from "../webhooks/secret-store";
import { webhookHeaders } from "../webhooks/signing";
import { checkTarget } from "../webhooks/target-guard";

export const HTTP_JOB_TYPE = "http";
/** The result keeps at most this much of the answer's body. */
export const RESULT_BODY_LIMIT_BYTES = 64 * 1024;
/** Without a `flow` in the enqueue, at most this many requests run at once per (tenant, destination host). */
export const PER_HOST_CONCURRENCY = 10;

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
/** RFC 9110 token characters: anything else makes fetch() throw at run time, so it is refused at enqueue. */
const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, "not a valid header name");
const HeaderValue = z
  .string()
  .max(8192)
  // Visible ASCII, space and tab only: other characters make fetch() fail at run time, so they are refused here.
  .regex(/^[\x20-\x7e\t]*$/, "header values must be visible ASCII (no line breaks or other characters)");

export const HttpJobInput = z
  .object({
    url: z
      .string()
      .max(2048)
      .refine((url) => URL.canParse(url), "not a valid URL"),
    method: z.enum(METHODS).default("POST"),
    headers: z
      .record(HeaderName, HeaderValue)
      .refine((h) => Object.keys(h).length <= 50, "at most 50 headers")
      .optional(),
    body: z.union([z.string(), z.json()]).optional(),
    timeoutSeconds: z.number().int().min(1).max(900).default(30),
  })
  .strict()
  .refine((input) => input.body === undefined || (input.method !== "GET" && input.method !== "HEAD"), {
    message: "GET and HEAD requests carry no body",
    path: ["body"],
  });

export type HttpJobInput = z.infer<typeof HttpJobInput>;
export type HttpJobResult = { status: number; headers: Record<string, string>; body: string };

/** The destination host as a flow key, so one slow endpoint only slows the jobs that go to it. */
export function hostFlowKey(url: string): string {
  return `http:${new URL(url).host}`.slice(0, 200);
}

export const httpJob = defineJob({
  type: HTTP_JOB_TYPE,
  input: HttpJobInput,
  flow: (input) => ({ key: hostFlowKey(input.url), concurrency: PER_HOST_CONCURRENCY }),
  async run(input, ctx): Promise<HttpJobResult> {
    // Checked again at run time: the deployment's setting may have changed since the enqueue.
    const target = checkTarget(input.url, { allowPrivate: configOf(ctx.env).allowPrivateTargets });
    if (!target.ok) throw new NonRetryableError(`target refused: ${target.reason}`);

    const body =
      input.body === undefined ? undefined : typeof input.body === "string" ? input.body : JSON.stringify(input.body);
    const headers = new Headers(input.headers);
    if (body !== undefined && typeof input.body !== "string" && !headers.has("content-type")) {
      headers.set("content-type", "application/json");
    }
    const now = Date.now();
    // The http job secret, never the callback one: this body is the tenant's, so it must not pass as a callback.
    const secrets = await httpJobSigningSecrets(openDb(ctx.env.DB), ctx.tenant, now);
    // The job id is the webhook-id: every retry of this job is the same message to the receiver.
    const signed = await webhookHeaders(secrets, ctx.jobId, Math.floor(now / 1000), body ?? "");
    for (const [name, value] of Object.entries(signed)) headers.set(name, value);

    const timeout = AbortSignal.timeout(input.timeoutSeconds * 1000);
    let response: Response;
    let text: string;
    try {
      response = await fetch(target.url, {
        method: input.method,
        headers,
        body,
        // A redirect could lead past the target guard; it is reported, not followed.
        redirect: "manual",
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
      text = await readCapped(response, RESULT_BODY_LIMIT_BYTES);
    } catch (err) {
      if (timeout.aborted) throw new TimeoutError(`request timed out after ${input.timeoutSeconds}s`);
      throw new Error(`request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const verdict = classifyResponse(response.status, response.headers.get("retry-after"), Date.now());
    if (verdict.kind === "success") {
      return { status: response.status, headers: Object.fromEntries(response.headers), body: text };
    }
    const message = `target answered ${response.status}: ${text.slice(0, 200)}`;
    if (verdict.kind === "dead") {
      const location = response.headers.get("location");
      throw new NonRetryableError(location ? `${message} (redirect to ${location} not followed)` : message);
    }
    if (verdict.retryAfterSeconds !== null) throw new RetryAfterError(message, verdict.retryAfterSeconds);
    throw new Error(message);
  },
});

/** Reads at most `limit` bytes of the body, then lets the rest go. */
async function readCapped(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
    if (offset >= bytes.length) break;
  }
  return new TextDecoder().decode(bytes);
}
