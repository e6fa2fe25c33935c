import { describe, expect, it } from "vitest";
import { JOB_STATUSES } from "../../src/contract/job";
import { backoffDelaySeconds } from "../../src/core/backoff";
import { NonRetryableError, RetryAfterError } from "../../src/core/errors";
import { idFloor, newId } from "../../src/core/ids";
import { canCancel, canDelete, canRetryByHand, decideAfterFailure } from "../../src/core/state";

const exp = { type: "exponential" as const, delaySeconds: 30, maxDelaySeconds: 3600, jitter: false };

describe("backoff", () => {
  it("doubles from the base delay and stops at the maximum", () => {
    expect([1, 2, 3, 4, 8].map((a) => backoffDelaySeconds(exp, a, () => 0))).toEqual([30, 60, 120, 240, 3600]);
  });

  it("keeps a fixed delay fixed", () => {
    expect(backoffDelaySeconds({ type: "fixed", delaySeconds: 7, jitter: false }, 9, () => 0)).toBe(7);
  });

  it("with jitter keeps half the delay and randomises the other half", () => {
    const jittered = { ...exp, jitter: true };
    expect(backoffDelaySeconds(jittered, 2, () => 0)).toBe(30);
    expect(backoffDelaySeconds(jittered, 2, () => 0.999_999)).toBe(60);
    expect(backoffDelaySeconds(jittered, 2, () => 0.5)).toBe(45);
  });

  it("never asks the queue for more than its 12 h delay limit", () => {
    expect(backoffDelaySeconds({ type: "exponential", delaySeconds: 40_000, jitter: false }, 5, () => 0)).toBe(43_200);
  });
});

describe("state machine", () => {
  it("allows cancel, retry by hand and delete only from the contract's states (a waiting workflow is cancellable too)", () => {
    const allowed = (check: (s: (typeof JOB_STATUSES)[number]) => boolean) => JOB_STATUSES.filter(check);
    expect(allowed(canCancel)).toEqual(["scheduled", "queued", "retrying", "waiting"]);
    expect(allowed(canRetryByHand)).toEqual(["dead", "cancelled"]);
    expect(allowed(canDelete)).toEqual(["succeeded", "dead", "cancelled"]);
  });

  it("retries with backoff until attempts run out, then gives up", () => {
    expect(decideAfterFailure(new Error("x"), 1, 3, exp, () => 0)).toEqual({ next: "retrying", delaySeconds: 30 });
    expect(decideAfterFailure(new Error("x"), 3, 3, exp, () => 0)).toEqual({
      next: "dead",
      reason: "attempts_exhausted",
    });
  });

  it("sends a NonRetryableError straight to dead", () => {
    expect(decideAfterFailure(new NonRetryableError("no"), 1, 5, exp, () => 0)).toEqual({
      next: "dead",
      reason: "non_retryable",
    });
  });

  it("waits for a Retry-After that is longer than the backoff", () => {
    expect(decideAfterFailure(new RetryAfterError("slow down", 90), 1, 5, exp, () => 0)).toEqual({
      next: "retrying",
      delaySeconds: 90,
    });
    expect(decideAfterFailure(new RetryAfterError("soon", 2), 1, 5, exp, () => 0)).toEqual({
      next: "retrying",
      delaySeconds: 30,
    });
  });
});

describe("ids", () => {
  it("sort by creation time and bound range scans", () => {
    const early = newId("job", 1_700_000_000_000);
    const late = newId("job", 1_700_000_000_001);
    expect(early < late).toBe(true);
    expect(early).toMatch(/^job_[0-9A-Z]{26}$/);
    expect(idFloor("job", 1_700_000_000_000) <= early).toBe(true);
    expect(idFloor("job", 1_700_000_000_001) > early).toBe(true);
  });
});
