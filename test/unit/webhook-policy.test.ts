// Pure delivery rules: what each status means, Retry-After in both forms, and how a callback's state moves.
import { describe, expect, it } from "vitest";
import {
  afterAttempt,
  CALLBACK_MAX_ATTEMPTS,
  callbackDelaySeconds,
  pendingState,
} from "../../src/webhooks/callback-state";
import { classifyResponse, MAX_RETRY_AFTER_SECONDS, parseRetryAfter } from "../../src/webhooks/response-policy";

const NOW = Date.parse("2026-03-01T12:00:00Z");

describe("classifyResponse", () => {
  it("2xx succeeds", () => {
    for (const status of [200, 201, 202, 204, 299]) expect(classifyResponse(status, null, NOW).kind).toBe("success");
  });

  it("408, 409, 425, 429 and 5xx are retried", () => {
    for (const status of [408, 409, 425, 429, 500, 502, 503, 504, 599]) {
      expect(classifyResponse(status, null, NOW), String(status)).toEqual({ kind: "retry", retryAfterSeconds: null });
    }
  });

  it("every other 4xx, 3xx and 1xx is final", () => {
    for (const status of [400, 401, 403, 404, 405, 410, 413, 422, 451, 301, 302, 307, 101]) {
      expect(classifyResponse(status, "5", NOW).kind, String(status)).toBe("dead");
    }
  });

  it("carries Retry-After on a retry", () => {
    expect(classifyResponse(429, "2", NOW)).toEqual({ kind: "retry", retryAfterSeconds: 2 });
    expect(classifyResponse(503, "Sun, 01 Mar 2026 12:01:00 GMT", NOW)).toEqual({
      kind: "retry",
      retryAfterSeconds: 60,
    });
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates, and caps both", () => {
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter(" 120 ", NOW)).toBe(120);
    expect(parseRetryAfter("999999", NOW)).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", NOW)).toBe(30);
    expect(parseRetryAfter("Sunday, 01-Mar-26 12:00:30 GMT", NOW)).toBe(30);
    expect(parseRetryAfter("Wed, 01 Apr 2026 12:00:00 GMT", NOW)).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", NOW)).toBe(0);
  });

  it("ignores what it cannot read", () => {
    for (const value of [null, undefined, "", "soon", "-5", "1.5", "2026-03-01"]) {
      expect(parseRetryAfter(value, NOW), String(value)).toBeNull();
    }
  });
});

describe("callback delivery state", () => {
  const half = () => 0.5;

  it("backs off ×3 from 5 s with jitter, capped at an hour, and honours a longer Retry-After", () => {
    expect(callbackDelaySeconds(1, null, () => 0)).toBe(3);
    expect(callbackDelaySeconds(1, null, () => 1)).toBe(5);
    expect(callbackDelaySeconds(2, null, () => 1)).toBe(15);
    expect(callbackDelaySeconds(3, null, () => 1)).toBe(45);
    expect(callbackDelaySeconds(20, null, () => 1)).toBe(3600);
    expect(callbackDelaySeconds(1, 120, () => 1)).toBe(120);
  });

  it("is delivered on success, keeping its webhook-id", () => {
    const { state, retryInSeconds } = afterAttempt(
      pendingState("job.succeeded", "msg_1"),
      { ok: true, status: 204 },
      NOW,
      half,
    );
    expect(retryInSeconds).toBeNull();
    expect(state).toMatchObject({
      status: "delivered",
      webhookId: "msg_1",
      attempts: 1,
      lastStatus: 204,
      deliveredAt: new Date(NOW).toISOString(),
    });
  });

  it("retries a failure, then gives up after the last allowed attempt", () => {
    const failure = {
      ok: false as const,
      status: 500,
      error: "receiver answered 500",
      final: false,
      retryAfterSeconds: null,
    };
    let state = pendingState("job.dead", "msg_2");
    const delays: (number | null)[] = [];
    for (let i = 0; i < CALLBACK_MAX_ATTEMPTS; i++) {
      const next = afterAttempt(state, failure, NOW, half);
      state = next.state;
      delays.push(next.retryInSeconds);
    }
    expect(state).toMatchObject({
      status: "failed",
      attempts: CALLBACK_MAX_ATTEMPTS,
      webhookId: "msg_2",
      lastStatus: 500,
    });
    expect(delays.slice(0, -1).every((d) => d !== null && d > 0)).toBe(true);
    expect(delays.at(-1)).toBeNull();
  });

  it("stops at once on a final failure (a refused target)", () => {
    const refused = { ok: false as const, status: null, error: "target refused", final: true, retryAfterSeconds: null };
    const { state, retryInSeconds } = afterAttempt(pendingState("job.dead", "msg_3"), refused, NOW, half);
    expect(retryInSeconds).toBeNull();
    expect(state).toMatchObject({ status: "failed", attempts: 1, lastError: "target refused" });
  });
});
