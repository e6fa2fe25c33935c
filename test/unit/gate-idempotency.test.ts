import { describe, expect, it } from "vitest";
import { canonicalJson, decideClaim, fingerprint } from "../../src/gate/idempotency";

describe("idempotency fingerprint", () => {
  it("ignores object key order at every depth, not array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson([{ y: 1, x: 2 }])).toBe('[{"x":2,"y":1}]');
  });

  it("is the same for the same type and payload, different otherwise", async () => {
    const a = await fingerprint("send", { orderId: "1", userId: "u" });
    expect(await fingerprint("send", { userId: "u", orderId: "1" })).toBe(a);
    expect(await fingerprint("send", { orderId: "2", userId: "u" })).not.toBe(a);
    expect(await fingerprint("sync", { orderId: "1", userId: "u" })).not.toBe(a);
  });
});

describe("claims", () => {
  const request = { fingerprint: "f1", proposedJobId: "job_new" };

  it("binds a free key to the proposed job id", () => {
    expect(decideClaim(null, request, 1000)).toEqual({ outcome: "claimed", jobId: "job_new" });
  });

  it("answers the bound job to an identical request within the TTL", () => {
    const current = { jobId: "job_first", fingerprint: "f1", expiresAt: 5000 };
    expect(decideClaim(current, request, 4999)).toEqual({ outcome: "existing", jobId: "job_first" });
  });

  it("refuses a different request within the TTL", () => {
    const current = { jobId: "job_first", fingerprint: "f0", expiresAt: 5000 };
    expect(decideClaim(current, request, 4999).outcome).toBe("conflict");
  });

  it("frees the key once the TTL has passed", () => {
    const current = { jobId: "job_first", fingerprint: "f0", expiresAt: 5000 };
    expect(decideClaim(current, request, 5000)).toEqual({ outcome: "claimed", jobId: "job_new" });
  });
});
