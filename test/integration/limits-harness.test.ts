import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  guardBatch,
  guardNamespace,
  guardQueue,
  guardSqlStorage,
  invocationBudget,
  LIMITS,
  PlatformLimitError,
  takeViolations,
  withPlatformLimits,
} from "../../src/limits";
import { newTenant } from "../fixtures/api";
import worker from "../fixtures/worker";

/** A producer that keeps what it is given, so a test can send freely without feeding the real consumer. */
function recordingQueue() {
  const sent: unknown[] = [];
  const queue = {
    async send(body: unknown) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) sent.push(m.body);
    },
  };
  return { queue: queue as unknown as Queue<unknown>, sent };
}

const guardedDb = (plan: "standard" | "free" = "standard") =>
  withPlatformLimits({ ...env, ENFORCE_PLATFORM_LIMITS: plan }).DB;
const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");
const values = (n: number) => Array.from({ length: n }, (_, i) => i);

// Each test here breaks limits on purpose and checks what was recorded; nothing may be left for the suite's check.
afterEach(() => {
  takeViolations();
});

describe("limits harness: D1", () => {
  it("runs a statement with 100 bound parameters and refuses one with 101", async () => {
    const db = guardedDb();
    const row = await db
      .prepare(`SELECT json_array(${placeholders(100)}) AS a`)
      .bind(...values(100))
      .first<{ a: string }>();
    expect(JSON.parse(row?.a ?? "[]")).toHaveLength(100);
    expect(() => db.prepare(`SELECT json_array(${placeholders(101)}) AS a`).bind(...values(101))).toThrow(
      PlatformLimitError,
    );
    expect(() => db.prepare("SELECT ?101")).toThrow(/names \?101/);
    expect(takeViolations()).toEqual([
      expect.stringContaining("binds 101 parameters"),
      expect.stringContaining("names ?101"),
    ]);
  });

  it("refuses a statement over 100 KB, in prepare and in exec", async () => {
    const db = guardedDb();
    const padded = (bytes: number) => `SELECT 1 /*${"x".repeat(bytes - "SELECT 1 /**/".length)}*/`;
    await expect(db.prepare(padded(100_000)).first()).resolves.toBeTruthy();
    expect(() => db.prepare(padded(100_001))).toThrow(/100001 bytes/);
    await expect(async () => db.exec(padded(100_001))).rejects.toThrow(PlatformLimitError);
    expect(takeViolations()).toHaveLength(2);
  });

  it("allows 1,000 queries in one invocation and fails the 1,001st, batch statements counted one by one", async () => {
    const db = guardedDb();
    const statements = Array.from({ length: 999 }, () => db.prepare("SELECT 1"));
    await db.batch(statements);
    await db.prepare("SELECT 1").first();
    expect(() => db.prepare("SELECT 1").first()).toThrow(/query 1001 .* allows 1000/);
    expect(takeViolations()).toHaveLength(1);
  });

  it("checks the statements a test runs on env.DB itself", () => {
    expect(() => env.DB.prepare(`SELECT ${placeholders(101)}`).bind(...values(101))).toThrow(PlatformLimitError);
    expect(takeViolations()).toHaveLength(1);
  });

  it("in free mode fails the 51st query", async () => {
    const db = guardedDb("free");
    for (let i = 0; i < 50; i++) await db.prepare("SELECT ?").bind(i).first();
    expect(() => db.prepare("SELECT 1").all()).toThrow(/query 51 .* free plan allows 50/);
    expect(takeViolations()).toHaveLength(1);
  });
});

describe("limits harness: queues", () => {
  const budget = () => invocationBudget(LIMITS.standard);

  it("sends a 127 KB message and refuses a 129 KB one", async () => {
    const { queue, sent } = recordingQueue();
    const guarded = guardQueue(queue, budget());
    await guarded.send({ blob: "x".repeat(127_000) });
    expect(() => guarded.send({ blob: "x".repeat(129_000) })).toThrow(/message of 129\d+ bytes/);
    expect(() => guarded.sendBatch([{ body: "x".repeat(129_000) }])).toThrow(PlatformLimitError);
    expect(sent).toHaveLength(1);
    expect(takeViolations()).toHaveLength(2);
  });

  it("sends a batch of 100 and refuses 101 messages or more than 256 KB", async () => {
    const { queue, sent } = recordingQueue();
    const guarded = guardQueue(queue, budget());
    await guarded.sendBatch(values(100).map((i) => ({ body: { i } })));
    expect(() => guarded.sendBatch(values(101).map((i) => ({ body: { i } })))).toThrow(/sendBatch of 101 messages/);
    expect(() => guarded.sendBatch(values(3).map(() => ({ body: "x".repeat(100_000) })))).toThrow(
      /sendBatch of 300\d+ bytes/,
    );
    expect(sent).toHaveLength(100);
    expect(takeViolations()).toHaveLength(2);
  });

  it("refuses a delay over 12 h on send, sendBatch and retry", async () => {
    const { queue } = recordingQueue();
    const guarded = guardQueue(queue, budget());
    await guarded.send({ ok: true }, { delaySeconds: 43_200 });
    expect(() => guarded.send({}, { delaySeconds: 43_201 })).toThrow(/delaySeconds 43201/);
    expect(() => guarded.sendBatch([{ body: {}, delaySeconds: 43_201 }])).toThrow(PlatformLimitError);
    expect(() => guarded.sendBatch([{ body: {} }], { delaySeconds: 86_400 })).toThrow(PlatformLimitError);
    const retried: (QueueRetryOptions | undefined)[] = [];
    const message = { id: "m1", body: {}, attempts: 1, retry: (o?: QueueRetryOptions) => retried.push(o) };
    const batch = guardBatch(
      { queue: "jobs", messages: [message], retryAll: () => undefined } as unknown as MessageBatch<unknown>,
      LIMITS.standard,
    );
    batch.messages[0]?.retry({ delaySeconds: 600 });
    expect(() => batch.messages[0]?.retry({ delaySeconds: 50_000 })).toThrow(PlatformLimitError);
    expect(() => batch.retryAll({ delaySeconds: 50_000 })).toThrow(PlatformLimitError);
    expect(retried).toEqual([{ delaySeconds: 600 }]);
    expect(takeViolations()).toHaveLength(5);
  });
});

describe("limits harness: Durable Object calls and the Worker's own invocations", () => {
  it("counts KeyGate stub calls as subrequests (free plan: the 51st fails)", async () => {
    const calls: string[] = [];
    const stub = { claim: (_key: string) => calls.push("claim") };
    const namespace = { getByName: (_name: string) => stub };
    const guarded = guardNamespace(namespace, invocationBudget(LIMITS.free));
    for (let i = 0; i < 50; i++) guarded.getByName("k").claim("k");
    expect(() => guarded.getByName("k").claim("k")).toThrow(/subrequest 51/);
    expect(calls).toHaveLength(50);
    expect(takeViolations()).toHaveLength(1);
  });

  it("checks a Durable Object's own SQL statements: 101 bound parameters fail", () => {
    const ran: number[] = [];
    const storage = { exec: (_query: string, ...bindings: unknown[]) => ran.push(bindings.length) };
    const sql = guardSqlStorage(storage as unknown as SqlStorage, LIMITS.standard);
    sql.exec(`SELECT ${placeholders(100)}`, ...values(100));
    expect(() => sql.exec(`SELECT ${placeholders(101)}`, ...values(101))).toThrow(/binds 101 parameters/);
    expect(ran).toEqual([100]);
    expect(takeViolations()).toHaveLength(1);
  });

  it("guards every invocation of the Worker: a 60-job batch enqueue with 60 idempotency keys is fine on Standard, breaks Free's 50 subrequests", async () => {
    const { key } = await newTenant("limits");
    // 60 distinct idempotency keys: 60 KeyGate calls, past the Free plan's 50 subrequests (the rows themselves are
    // one INSERT: test/integration/enqueue-free-plan.test.ts).
    const bodyFor = (plan: string) =>
      JSON.stringify({
        jobs: values(60).map((i) => ({ type: "test-echo", payload: { i }, idempotencyKey: `limits-${plan}-${i}` })),
      });
    const enqueueOn = (plan: string) =>
      worker.fetch(
        new Request("http://edge-jobs.test/v1/jobs/batch", {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: bodyFor(plan),
        }),
        { ...env, ENFORCE_PLATFORM_LIMITS: plan },
        createExecutionContext(),
      );
    expect((await enqueueOn("standard")).status).toBe(202);
    expect(takeViolations()).toEqual([]);
    expect((await enqueueOn("free")).status).toBe(500);
    expect(takeViolations()).toEqual([expect.stringMatching(/subrequest 51 .*free plan allows 50/)]);
  });
});
