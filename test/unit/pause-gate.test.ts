import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { JobOptions } from "../../src/contract/job";
import { defineJob } from "../../src/core/define-job";
import { createLogger } from "../../src/core/logger";
import type { JobRow } from "../../src/db/schema";
import { GATE_DOWN_WAIT_SECONDS, type GateItem, gateJobs } from "../../src/engine/gate";
import type { GateNamespace } from "../../src/gate/gate-client";
import { inputSchemaOf } from "../../src/service/job-types";

const NOW = Date.UTC(2026, 11, 2, 6);
const log = createLogger();
const options = (flow: JobOptions["flow"] = null): JobOptions => ({
  backoff: { type: "fixed", delaySeconds: 0 },
  timeoutSeconds: 10,
  flow,
});

const item = (tenant: string, id: string, flow: JobOptions["flow"] = null): GateItem => ({
  delivery: { message: { id: `m-${id}` } as Message<unknown>, job: { tenant, id } },
  row: { tenantId: tenant, id, type: "t", attempts: 0, runToken: 0, status: "queued" } as JobRow,
  options: options(flow),
  leaseMs: 10_000,
});

/** A D1 whose hold statement answers `held` (tenant/id keys) and records what it was bound with. */
function fakeD1(held: string[], fail = false) {
  const bound: unknown[][] = [];
  const d1 = {
    prepare: (sql: string) => ({
      sql,
      bind: (...args: unknown[]) => {
        bound.push(args);
        return { sql, args };
      },
    }),
    batch: async (statements: { args: unknown[] }[]) => {
      if (fail) throw new Error("D1 is down");
      return statements.map((s) => {
        const rows = JSON.parse(String(s.args[0])) as [string, string][];
        return {
          results: rows
            .filter(([tenant, id]) => held.includes(`${tenant}/${id}`))
            .map(([tenant, id]) => ({ tenant, id })),
        };
      });
    },
  };
  return { d1: d1 as unknown as D1Database, bound };
}

/** A flow gate that admits everything now, counting the jobs it was asked about. */
function fakeGates() {
  const asked: string[] = [];
  const stub = {
    admit: async (req: { jobs: { id: string }[] }) => {
      asked.push(...req.jobs.map((j) => j.id));
      return { admitted: req.jobs.map((j) => ({ id: j.id, waitMs: 0 })), deferred: [], leased: false };
    },
  };
  const gates = { idFromName: (name: string) => name, get: () => stub } as unknown as GateNamespace;
  return { gates, asked };
}

describe("the gate's paused outcome", () => {
  it("answers the held jobs as paused; the rest go on, and only the rest ask their flow gate", async () => {
    const { d1, bound } = fakeD1(["a/job_2", "a/job_3"]);
    const { gates, asked } = fakeGates();
    const items = [
      item("a", "job_1"),
      item("a", "job_2", { key: "k" }),
      item("a", "job_3"),
      item("b", "job_2", { key: "k" }),
    ];
    const gated = await gateJobs(items, { d1, gates, log, now: NOW });
    expect(gated.paused.map((p) => p.item)).toEqual([items[1], items[2]]);
    expect(gated.admitted.map((a) => a.item).sort((x, y) => (x.row.tenantId < y.row.tenantId ? -1 : 1))).toEqual([
      items[0],
      items[3],
    ]);
    // A held job took no flow capacity: only tenant b's job asked key "k".
    expect(asked).toEqual(["job_2"]);
    expect(gated.deferred).toEqual([]);
    expect(gated.unavailable).toEqual([]);
    // One statement for the batch, with each row as the consumer read it.
    expect(bound).toHaveLength(1);
    expect(JSON.parse(String(bound[0]?.[0]))).toEqual([
      ["a", "job_1", 0, 0, "queued"],
      ["a", "job_2", 0, 0, "queued"],
      ["a", "job_3", 0, 0, "queued"],
      ["b", "job_2", 0, 0, "queued"],
    ]);
    expect(bound[0]?.slice(1)).toEqual([NOW, new Date(NOW).toISOString()]);
  });

  it("lets no job run unchecked when D1 cannot answer: every one waits, none is held or admitted", async () => {
    const { d1 } = fakeD1([], true);
    const { gates, asked } = fakeGates();
    const items = [item("a", "job_1"), item("a", "job_2")];
    const gated = await gateJobs(items, { d1, gates, log, now: NOW });
    expect(gated.unavailable).toEqual(items.map((i) => ({ item: i, delaySeconds: GATE_DOWN_WAIT_SECONDS })));
    expect([gated.admitted, gated.deferred, gated.paused]).toEqual([[], [], []]);
    expect(asked).toEqual([]);
  });

  it("asks D1 nothing for an empty batch, and splits a large one into statements of 100", async () => {
    const empty = fakeD1([]);
    const { gates } = fakeGates();
    await gateJobs([], { d1: empty.d1, gates, log, now: NOW });
    expect(empty.bound).toEqual([]);
    const big = fakeD1([]);
    const items = Array.from({ length: 250 }, (_, i) => item("a", `job_${i}`));
    const gated = await gateJobs(items, { d1: big.d1, gates, log, now: NOW });
    expect(big.bound.map((args) => (JSON.parse(String(args[0])) as unknown[]).length)).toEqual([100, 100, 50]);
    expect(gated.admitted).toHaveLength(250);
  });
});

describe("a job type's input JSON Schema", () => {
  const job = (input: z.ZodType) => defineJob({ type: "x", input, run: () => null });

  it("describes the input side of a transform, and leaves open what JSON Schema cannot say", () => {
    const schema = inputSchemaOf(
      job(
        z.object({
          n: z.string().transform((s) => Number(s)),
          at: z.date(),
          tag: z.enum(["a", "b"]).optional(),
        }),
      ),
    );
    expect(schema).toMatchObject({
      type: "object",
      properties: { n: { type: "string" }, at: {}, tag: { enum: ["a", "b"] } },
      required: ["n", "at"],
    });
  });

  it("answers null for a schema zod cannot convert, instead of failing the list", () => {
    const broken = { ...job(z.object({})), input: { not: "a zod schema" } as unknown as z.ZodType };
    expect(inputSchemaOf(broken)).toBeNull();
    const custom = inputSchemaOf(job(z.custom<string>((v) => typeof v === "string")));
    expect(custom).not.toBeNull();
  });
});
