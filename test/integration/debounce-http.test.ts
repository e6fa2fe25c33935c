// Debounce over HTTP (issue #16): 202 for the enqueue that opens a window, 200 + `Debounced: true` with the same job for
// the ones that replace it, 400/413 refusals that write nothing; the queue is captured and the test delivers it itself.
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/contract/job";
import { call, newTenant } from "../fixtures/api";
import { capturingQueue } from "../fixtures/engine-doubles";
import worker from "../fixtures/worker";
import { deliver, runsOf, stored, windowOf } from "./debounce-harness";

type Answer = {
  status: number;
  headers: Headers;
  body: Job & { error?: { code: string; issues?: { path: string }[] } };
};

/** POSTs through the test Worker with this queue in place of the real one, so nothing runs until the test delivers it. */
async function post(key: string, queue: Queue, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await worker.fetch(
    new Request(`http://edge-jobs.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
    { ...env, JOBS_QUEUE: queue },
    createExecutionContext(),
  );
  return { status: response.status, headers: response.headers, body: await response.json() } as Answer;
}

const echo = (value: unknown, key: string, seconds = 2) => ({
  type: "test-echo",
  payload: { value },
  debounce: { key, seconds },
});

async function jobIds(key: string): Promise<string[]> {
  const res = await call<{ data: Job[] }>("GET", "/v1/jobs?limit=100", { token: key });
  return res.body.data.map((j) => j.id);
}

describe("debounce over HTTP", () => {
  it("answers 100 concurrent enqueues with one key: one 202, 99 × 200 Debounced with that job, one run", async () => {
    const { key, tenant } = await newTenant("debhttp");
    const { queue, sent } = capturingQueue();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => post(key, queue, "/v1/jobs", echo(i, "k"))),
    );

    const created = answers.filter((a) => a.status === 202);
    const debounced = answers.filter((a) => a.status === 200);
    expect(created).toHaveLength(1);
    expect(debounced).toHaveLength(99);
    for (const a of debounced) expect(a.headers.get("debounced")).toBe("true");
    expect(created[0]?.headers.get("debounced")).toBeNull();
    const jobId = created[0]?.body.id ?? "";
    expect(new Set(answers.map((a) => a.body.id))).toEqual(new Set([jobId]));
    expect(await jobIds(key)).toEqual([jobId]);

    // The stored payload is the one the gate applied last; the handler runs once, with it.
    const row = await stored(tenant, jobId);
    const winner = JSON.parse(row.payload) as { value: number };
    await deliver(sent, row.runAt + 1_000, queue);
    await deliver(sent, row.runAt + 2_000, queue);
    expect(runsOf(jobId)).toEqual([{ jobId, value: winner.value }]);
    console.log(
      `HTTP 100 concurrent: 202 × ${created.length}, 200 Debounced × ${debounced.length}, jobs ${(await jobIds(key)).length}, payload won ${winner.value}, messages ${sent.length}, D1 writes 1 + ${row.runToken}, handler runs ${runsOf(jobId).length}`,
    );
  });

  it("opens a new window (202, a new job) once the job has run", async () => {
    const { key, tenant } = await newTenant("debhttp");
    const { queue, sent } = capturingQueue();
    const first = await post(key, queue, "/v1/jobs", echo("a", "k", 1));
    expect(first.status).toBe(202);
    const row = await stored(tenant, first.body.id);
    await deliver(sent, row.runAt, queue);
    expect((await stored(tenant, first.body.id)).status).toBe("succeeded");

    const next = await post(key, queue, "/v1/jobs", echo("b", "k", 1));
    expect(next.status).toBe(202);
    expect(next.headers.get("debounced")).toBeNull();
    expect(next.body.id).not.toBe(first.body.id);
  });

  it("refuses bad debounce fields (400 with the issue's path) and a too-large replace (413): nothing written", async () => {
    const { key, tenant } = await newTenant("debhttp");
    const { queue, sent } = capturingQueue();
    const first = await post(key, queue, "/v1/jobs", echo("kept", "k", 30));
    expect(first.status).toBe(202);
    const before = await stored(tenant, first.body.id);
    const windowBefore = await windowOf(tenant, "k");

    const bad: [unknown, string, Record<string, string>?][] = [
      [echo("x", "k", 0), "debounce.seconds"],
      [echo("x", "k", 86_401), "debounce.seconds"],
      [{ ...echo("x", "k", 10), debounce: { key: "k", seconds: 10, maxWaitSeconds: 5 } }, "debounce.maxWaitSeconds"],
      [{ ...echo("x", "k"), debounce: { key: "", seconds: 5 } }, "debounce.key"],
      [{ ...echo("x", "k"), delaySeconds: 5 }, "debounce"],
      [{ ...echo("x", "k"), idempotencyKey: "i" }, "debounce"],
      [echo("x", "k"), "debounce", { "idempotency-key": "i" }],
    ];
    for (const [body, path, headers] of bad) {
      const res = await post(key, queue, "/v1/jobs", body, headers);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error?.code).toBe("invalid_request");
      expect(res.body.error?.issues?.map((i) => i.path)).toContain(path);
    }
    const big = await post(key, queue, "/v1/jobs", echo("x".repeat(300 * 1024), "k"));
    expect(big.status).toBe(413);
    expect(big.body.error?.code).toBe("payload_too_large");

    expect(await stored(tenant, first.body.id)).toEqual(before);
    expect(await windowOf(tenant, "k")).toEqual(windowBefore);
    expect(await jobIds(key)).toEqual([first.body.id]);
    expect(sent).toHaveLength(1);
  });

  it("keeps tenants apart and applies a batch's items with one key in order", async () => {
    const a = await newTenant("debhttp-a");
    const b = await newTenant("debhttp-b");
    const { queue } = capturingQueue();
    const [ja, jb] = await Promise.all([
      post(a.key, queue, "/v1/jobs", echo(1, "shared")),
      post(b.key, queue, "/v1/jobs", echo(2, "shared")),
    ]);
    expect([ja.status, jb.status]).toEqual([202, 202]);
    expect(ja.body.id).not.toBe(jb.body.id);

    const batch = await post(a.key, queue, "/v1/jobs/batch", {
      jobs: [echo(3, "shared"), { type: "test-echo", payload: { value: "plain" } }, echo(4, "shared")],
    });
    expect(batch.status).toBe(202);
    const jobs = (batch.body as unknown as { jobs: Job[] }).jobs;
    expect(jobs[0]?.id).toBe(ja.body.id);
    expect(jobs[2]?.id).toBe(ja.body.id);
    expect(jobs[1]?.id).not.toBe(ja.body.id);
    expect(JSON.parse((await stored(a.tenant, ja.body.id)).payload)).toEqual({ value: 4 });
    expect(JSON.parse((await stored(b.tenant, jb.body.id)).payload)).toEqual({ value: 2 });
  });
  it("answers over RPC too: an enqueue that joined the window is {ok, job, debounced: true}", async () => {
    const { tenant } = await newTenant("debrpc");
    const rpc = exports.JobsRpc({ props: { tenant } });
    const first = await rpc.enqueue(echo(1, "rpc", 600));
    const second = await rpc.enqueue(echo(2, "rpc", 600));
    if (!first.ok || !second.ok) throw new Error(`refused: ${JSON.stringify([first, second])}`);
    expect("debounced" in first).toBe(false);
    expect(second).toMatchObject({ ok: true, debounced: true, job: { id: first.job.id, payload: { value: 2 } } });
  });
});
