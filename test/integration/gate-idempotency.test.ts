import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { idempotencyGate } from "../../src/gate/gate-client";
import { type Claim, fingerprint } from "../../src/gate/idempotency";
import { call, newTenant, waitForStatus } from "../fixtures/api";

type ErrorBody = { error: { code: string; message: string } };

const post = (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call<Job & ErrorBody>("POST", "/v1/jobs", { token: key, body, headers });

async function jobsOfTenant(key: string): Promise<Job[]> {
  const res = await call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: key });
  expect(res.status).toBe(200);
  return res.body.data;
}

/** Moves a key's claim into the past, as if its TTL had run out; the real alarm then does its cleanup. */
async function expireClaim(tenant: string, key: string) {
  await runInDurableObject(idempotencyGate(env.KEY_GATE, tenant, key), (_instance, state) => {
    const claim = state.storage.kv.get<Claim>("claim");
    expect(claim).toBeDefined();
    state.storage.kv.put("claim", { ...claim, expiresAt: Date.now() - 1 });
  });
}

describe("idempotency keys (KeyGate per tenant + key)", () => {
  it("turns 100 concurrent enqueues with one key into exactly one job", async () => {
    const { key } = await newTenant("idem");
    const body = { type: "test-echo", payload: { value: "once" }, idempotencyKey: "order-100" };
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(key, body)));

    const created = answers.filter((a) => a.status === 202);
    const replays = answers.filter((a) => a.status === 200);
    expect(created).toHaveLength(1);
    expect(replays).toHaveLength(99);
    for (const replay of replays) expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(created[0]?.headers.get("idempotent-replayed")).toBeNull();
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect((await jobsOfTenant(key)).map((j) => j.id)).toEqual([created[0]?.body.id]);
  });

  it("replays the original job whatever its status, from the header or the body", async () => {
    const { key } = await newTenant("idem");
    const first = await post(key, { type: "test-echo", payload: { value: 1 } }, { "idempotency-key": "k-status" });
    expect(first.status).toBe(202);
    expect(first.body.idempotencyKey).toBe("k-status");
    await waitForStatus(key, first.body.id, ["succeeded"]);

    // Same request, keys in another order: the canonical payload is the same.
    const again = await post(key, { payload: { value: 1 }, type: "test-echo", idempotencyKey: "k-status" });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toMatchObject({ id: first.body.id, status: "succeeded", result: { echoed: 1 } });
  });

  it("refuses the same key with a different payload or type, and writes nothing", async () => {
    const { key } = await newTenant("idem");
    const first = await post(key, { type: "test-echo", payload: { value: "a" }, idempotencyKey: "k-conflict" });
    expect(first.status).toBe(202);

    const otherPayload = await post(key, { type: "test-echo", payload: { value: "b" }, idempotencyKey: "k-conflict" });
    expect(otherPayload.status).toBe(409);
    expect(otherPayload.body.error.code).toBe("idempotency_conflict");
    const otherType = await post(key, { type: "test-flaky", payload: { failTimes: 0 }, idempotencyKey: "k-conflict" });
    expect(otherType.status).toBe(409);
    expect(otherType.body.error.code).toBe("idempotency_conflict");
    expect((await jobsOfTenant(key)).map((j) => j.id)).toEqual([first.body.id]);
  });

  it("keeps tenants apart: the same key in two tenants makes two jobs", async () => {
    const a = await newTenant("idem-a");
    const b = await newTenant("idem-b");
    const body = { type: "test-echo", payload: { value: "x" }, idempotencyKey: "shared-key" };
    const [ja, jb] = await Promise.all([post(a.key, body), post(b.key, body)]);
    expect([ja.status, jb.status]).toEqual([202, 202]);
    expect(ja.body.id).not.toBe(jb.body.id);
    // Each tenant sees only its own job; the other's id is a 404.
    expect((await call("GET", `/v1/jobs/${jb.body.id}`, { token: a.key })).status).toBe(404);
  });

  it("frees the key after its TTL, and the alarm deletes the expired claim", async () => {
    const { tenant, key } = await newTenant("idem");
    const body = { type: "test-echo", payload: { value: "ttl" }, idempotencyKey: "k-ttl", idempotencyTtlSeconds: 60 };
    const first = await post(key, body);
    expect(first.status).toBe(202);
    const stub = idempotencyGate(env.KEY_GATE, tenant, "k-ttl");
    const alarmAt = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarmAt).toBeGreaterThan(Date.now() + 55_000);
    expect(alarmAt).toBeLessThanOrEqual(Date.now() + 60_000);

    // Expired but not yet cleaned: the key is already free; a different payload is accepted.
    await expireClaim(tenant, "k-ttl");
    const second = await post(key, { ...body, payload: { value: "after ttl" } });
    expect(second.status).toBe(202);
    expect(second.body.id).not.toBe(first.body.id);

    // Once this claim expires too, the alarm removes it and the object's storage is gone.
    await expireClaim(tenant, "k-ttl");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(stub, async (_i, state) => ({
      claim: state.storage.kv.get("claim"),
      alarm: await state.storage.getAlarm(),
    }));
    expect(left).toEqual({ claim: undefined, alarm: null });
    const third = await post(key, body);
    expect(third.status).toBe(202);
    expect(new Set([first.body.id, second.body.id, third.body.id]).size).toBe(3);
  });

  it("completes a request that crashed between the claim and the insert when it is retried", async () => {
    const { tenant, key } = await newTenant("idem");
    const payload = { value: "crash" };
    // The crashed request got as far as the claim: the key is bound to a job id that has no row.
    const claim = await idempotencyGate(env.KEY_GATE, tenant, "k-crash").claim({
      fingerprint: await fingerprint("test-echo", payload),
      proposedJobId: "job_01KCRASHCRASHCRASHCRASHCRA",
      ttlSeconds: 3600,
    });
    expect(claim).toEqual({ outcome: "claimed", jobId: "job_01KCRASHCRASHCRASHCRASHCRA" });

    const retry = await post(key, { type: "test-echo", payload, idempotencyKey: "k-crash" });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(claim.jobId);
    expect((await waitForStatus(key, claim.jobId, ["succeeded"])).result).toEqual({ echoed: "crash" });
    const duplicate = await post(key, { type: "test-echo", payload, idempotencyKey: "k-crash" });
    expect(duplicate.status).toBe(200);
    expect(duplicate.body.id).toBe(claim.jobId);
  });

  it("honours each item's key in a batch, and refuses a batch with a conflicting key as a whole", async () => {
    const { key } = await newTenant("idem");
    const items = [
      { type: "test-echo", payload: { value: 1 }, idempotencyKey: "b-1" },
      { type: "test-echo", payload: { value: 2 }, idempotencyKey: "b-2" },
      { type: "test-echo", payload: { value: 3 } },
      // The same key twice with the same request in one batch is one job.
      { type: "test-echo", payload: { value: 1 }, idempotencyKey: "b-1" },
    ];
    const first = await call<{ jobs: Job[] }>("POST", "/v1/jobs/batch", { token: key, body: { jobs: items } });
    expect(first.status).toBe(202);
    const ids = first.body.jobs.map((j) => j.id);
    expect(ids[3]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(3);

    const second = await call<{ jobs: Job[] }>("POST", "/v1/jobs/batch", { token: key, body: { jobs: items } });
    expect(second.status).toBe(202);
    const again = second.body.jobs.map((j) => j.id);
    expect([again[0], again[1], again[3]]).toEqual([ids[0], ids[1], ids[0]]);
    expect(again[2]).not.toBe(ids[2]); // no key: a new job each time
    expect(await jobsOfTenant(key)).toHaveLength(4);

    const conflicting = await call<ErrorBody>("POST", "/v1/jobs/batch", {
      token: key,
      body: {
        jobs: [
          { type: "test-echo", payload: { value: "new" }, idempotencyKey: "b-3" },
          { type: "test-echo", payload: { value: "changed" }, idempotencyKey: "b-2" },
        ],
      },
    });
    expect(conflicting.status).toBe(409);
    expect(conflicting.body.error).toMatchObject({ code: "idempotency_conflict" });
    expect(conflicting.body.error.message).toContain("jobs.1");
    expect(await jobsOfTenant(key)).toHaveLength(4);
    // The refused batch left b-3 unbound: another request may use it.
    const b3 = await post(key, { type: "test-echo", payload: { value: "other" }, idempotencyKey: "b-3" });
    expect(b3.status).toBe(202);

    const sameKeyTwice = await call<ErrorBody>("POST", "/v1/jobs/batch", {
      token: key,
      body: {
        jobs: [
          { type: "test-echo", payload: { value: 1 }, idempotencyKey: "b-4" },
          { type: "test-echo", payload: { value: 2 }, idempotencyKey: "b-4" },
        ],
      },
    });
    expect(sameKeyTwice.status).toBe(409);
    expect(await jobsOfTenant(key)).toHaveLength(5);
  });

  it("validates the key like the rest of the request", async () => {
    const { key } = await newTenant("idem");
    const tooLong = await post(key, { type: "test-echo", idempotencyKey: "k".repeat(201) });
    expect(tooLong.status).toBe(400);
    const shortTtl = await post(key, { type: "test-echo", idempotencyKey: "k", idempotencyTtlSeconds: 59 });
    expect(shortTtl.status).toBe(400);
    expect(await jobsOfTenant(key)).toHaveLength(0);
  });
});
