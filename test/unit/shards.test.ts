// Shards (issue #17), the pure parts: the JOBS_DBS list, the shard a message names, a batch split by shard, and the
// shard env (its DB, its stamped messages, its control database).
import { describe, expect, it } from "vitest";
import { configOf, controlDbOf, jobQueueOf, shardEnvOf, shardNameOf } from "../../src/core/config";
import { CONTROL_DB, isMaintenanceMessage, parseShards, shardOfBody } from "../../src/core/shards";
import { splitByShard } from "../../src/engine/shard-batches";
import { answeringBatch, capturingQueue } from "../fixtures/engine-doubles";

const fakeDb = (name: string) => ({ name, prepare: () => null }) as unknown as D1Database;

describe("parseShards", () => {
  it("is DB alone when unset or empty", () => {
    expect(parseShards(undefined)).toEqual(["DB"]);
    expect(parseShards(" , ")).toEqual(["DB"]);
  });

  it("keeps the listed bindings in order", () => {
    expect(parseShards("DB, JOBS_DB_1,JOBS_DB_2")).toEqual(["DB", "JOBS_DB_1", "JOBS_DB_2"]);
  });

  it("refuses a list not starting with DB, a repeated binding and a name that is not a binding", () => {
    expect(() => parseShards("JOBS_DB_1,DB")).toThrow(/must start with DB/);
    expect(() => parseShards("DB,JOBS_DB_1,JOBS_DB_1")).toThrow(/twice/);
    expect(() => parseShards("DB,jobs-1")).toThrow(/not a D1 binding name/);
    expect(() => parseShards("DB,X'; DROP TABLE jobs;--")).toThrow(/not a D1 binding name/);
  });
});

describe("messages and batches", () => {
  it("reads the shard a message names, DB when it names none", () => {
    expect(shardOfBody({ tenant: "t", id: "j", shard: "JOBS_DB_1" })).toBe("JOBS_DB_1");
    expect(shardOfBody({ tenant: "t", id: "j" })).toBe(CONTROL_DB);
    expect(shardOfBody("junk")).toBe(CONTROL_DB);
  });

  it("tells a maintenance message from a job message", () => {
    expect(isMaintenanceMessage({ kind: "maintenance", shard: "DB", scheduledTime: 1 })).toBe(true);
    expect(isMaintenanceMessage({ tenant: "t", id: "j", shard: "DB" })).toBe(false);
  });

  it("splits a batch by shard, each part keeping its own messages' acks", () => {
    const { batch, answers } = answeringBatch("jobs", [
      { id: "a", body: { tenant: "t1", id: "j1" } },
      { id: "b", body: { tenant: "t2", id: "j2", shard: "JOBS_DB_1" } },
      { id: "c", body: { tenant: "t1", id: "j3" } },
    ]);
    const parts = splitByShard(batch);
    expect([...parts.keys()]).toEqual(["DB", "JOBS_DB_1"]);
    expect(parts.get("DB")?.messages.map((m) => m.id)).toEqual(["a", "c"]);
    expect(parts.get("DB")?.queue).toBe("jobs");
    parts.get("JOBS_DB_1")?.retryAll({ delaySeconds: 7 });
    expect(answers.get("b")).toMatchObject({ kind: "retry", delaySeconds: 7 });
    expect(answers.has("a")).toBe(false);
  });

  it("leaves a batch of one shard whole", () => {
    const { batch } = answeringBatch("jobs", [{ id: "a", body: { tenant: "t", id: "j" } }]);
    expect(splitByShard(batch).get("DB")).toBe(batch);
  });
});

describe("shardEnvOf", () => {
  it("is the env itself with one shard: nothing stamped, nothing looked up", () => {
    const env = { DB: fakeDb("control"), JOBS_QUEUE: capturingQueue().queue } as unknown as Env;
    expect(shardEnvOf(env, "DB")).toBe(env);
    expect(shardNameOf(env)).toBe("DB");
  });

  it("swaps DB for the shard's database and stamps every message with the shard", async () => {
    const main = capturingQueue();
    const one = fakeDb("one");
    const env = {
      DB: fakeDb("control"),
      JOBS_DB_1: one,
      JOBS_DBS: "DB,JOBS_DB_1",
      JOBS_QUEUE: main.queue,
    } as unknown as Env;
    const sharded = shardEnvOf(env, "JOBS_DB_1");
    expect(sharded.DB).toBe(one);
    expect(shardNameOf(sharded)).toBe("JOBS_DB_1");
    expect(controlDbOf(sharded)).toBe(env.DB);
    expect(configOf(sharded)).toBe(configOf(env));
    // Made once: the per-env caches (config, lane router) hold across calls, and a shard env re-bases on its Worker's.
    expect(shardEnvOf(env, "JOBS_DB_1")).toBe(sharded);
    expect(shardEnvOf(sharded, "JOBS_DB_1")).toBe(sharded);
    const body = { tenant: "t", id: "j" };
    await jobQueueOf(sharded).sendBatch([{ body }]);
    await jobQueueOf(sharded).send({ tenant: "t", id: "k" });
    expect(main.sent.map((m) => m.body)).toEqual([
      { tenant: "t", id: "j", shard: "JOBS_DB_1" },
      { tenant: "t", id: "k", shard: "JOBS_DB_1" },
    ]);
    // The sender's own object is never changed.
    expect(body).toEqual({ tenant: "t", id: "j" });
    // With several shards DB's own messages name it too.
    await jobQueueOf(shardEnvOf(env, "DB")).send({ tenant: "t", id: "m" });
    expect(main.sent.at(-1)?.body).toEqual({ tenant: "t", id: "m", shard: "DB" });
  });

  it("refuses a shard the list does not name, and a listed one without a binding", () => {
    const env = { DB: fakeDb("control"), JOBS_DBS: "DB,JOBS_DB_1,JOBS_DB_2" } as unknown as Env;
    expect(() => shardEnvOf(env, "JOBS_DB_9")).toThrow(/not listed in JOBS_DBS/);
    expect(() => shardEnvOf(env, "JOBS_DB_2")).toThrow(/no D1 binding JOBS_DB_2/);
  });
});
