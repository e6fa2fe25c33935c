// `npm run bench`: drives real `wrangler dev` instances of Edge Jobs and of a bare baseline Worker in one
// process and prints one JSON summary — enqueue and pipeline ratios, and billable operations per job.
import { cpus, totalmem } from "node:os";
import autocannon from "autocannon";
import { countJobs, type DevServer, startDev } from "../test/e2e/harness.ts";
import { startLocalServer } from "../test/e2e/local-server.ts";
import { type Counts, priceOf } from "./cost-model.ts";
import { summarizeLogs } from "./log-counts.ts";

const ENQUEUE_SECONDS = Number(process.env.BENCH_ENQUEUE_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const PIPELINE_JOBS = Number(process.env.BENCH_PIPELINE_JOBS ?? 10_000);
const COST_JOBS = Number(process.env.BENCH_COST_JOBS ?? 200);

type Load = { requestsPerSecond: number; p50Ms: number; p99Ms: number; non2xx: number };

async function load(url: string, headers: Record<string, string>, body: string): Promise<Load> {
  const result = await autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    connections: CONNECTIONS,
    duration: ENQUEUE_SECONDS,
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Sends `total` jobs as batches of 100, a few requests in flight at a time. */
async function sendBatches(dev: DevServer, token: string | undefined, total: number, job: (i: number) => unknown) {
  const batches = Array.from({ length: Math.ceil(total / 100) }, (_, b) =>
    Array.from({ length: Math.min(100, total - b * 100) }, (_, i) => job(b * 100 + i)),
  );
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const jobs = batches[next++];
      const res = await dev.call("POST", "/v1/jobs/batch", { token, body: { jobs } });
      if (res.status !== 202) throw new Error(`batch enqueue answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

async function unfinished(dev: DevServer, token: string): Promise<number> {
  const counts = await Promise.all(
    ["queued", "running", "retrying"].map(async (status) => {
      const res = await dev.call<{ data: unknown[] }>("GET", `/v1/jobs?status=${status}&limit=1`, { token });
      return res.body.data.length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function main() {
  const orderApi = await startLocalServer((req, res) => {
    // The "fails once" scenario: the first call for an order whose id starts with fail-once gets a 503.
    const body = JSON.parse(req.body || "{}") as { orderId?: string; attempt?: number };
    if (body.orderId?.startsWith("fail-once") && body.attempt === 1) {
      res.statusCode = 503;
      res.end("try again");
      return;
    }
    res.end("ok");
  });
  // The speed runs: no-op jobs (no ORDER_API_URL, so the shipped examples call nothing) and LOG_LEVEL=warn,
  // since the baseline logs nothing and wrangler dev's log forwarding is slow (measured separately below).
  const fast = await startDev({ vars: { LOG_LEVEL: "warn" } });
  const edge = await startDev({ vars: { ORDER_API_URL: orderApi.url } });
  const baseline = await startDev({ config: ["bench/baseline/wrangler.toml"] });
  try {
    const key = await fast.newKey("bench");
    const jobBody = JSON.stringify({ type: "send-order-confirmation", payload: { orderId: "o-1" } });

    // 1. Enqueue, interleaved (baseline, edge, edge, baseline) so drift on the machine hits both alike.
    const b1 = await load(`${baseline.url}/v1/jobs`, {}, jobBody);
    const e1 = await load(`${fast.url}/v1/jobs`, { authorization: `Bearer ${key}` }, jobBody);
    const e2 = await load(`${fast.url}/v1/jobs`, { authorization: `Bearer ${key}` }, jobBody);
    const b2 = await load(`${baseline.url}/v1/jobs`, {}, jobBody);
    const infoKey = await edge.newKey("bench-info");
    const withInfoLogs = await load(`${edge.url}/v1/jobs`, { authorization: `Bearer ${infoKey}` }, jobBody);
    const avg = (a: Load, b: Load): Load => ({
      requestsPerSecond: Math.round((a.requestsPerSecond + b.requestsPerSecond) / 2),
      p50Ms: (a.p50Ms + b.p50Ms) / 2,
      p99Ms: (a.p99Ms + b.p99Ms) / 2,
      non2xx: a.non2xx + b.non2xx,
    });
    const enqueue = { baseline: avg(b1, b2), edgeJobs: avg(e1, e2), edgeJobsWithInfoLogs: withInfoLogs };
    await waitUntil(async () => (await unfinished(fast, key)) === 0, 300_000, "the enqueue load to drain");
    await waitUntil(async () => (await unfinished(edge, infoKey)) === 0, 300_000, "the info-log load to drain");

    // 2. Pipeline: 10,000 no-op jobs through the batch API until every one is finished.
    const pipeKey = await fast.newKey("pipeline");
    let started = Date.now();
    await sendBatches(baseline, undefined, PIPELINE_JOBS, () => ({ type: "noop" }));
    await waitUntil(
      async () => (await baseline.call<{ consumed: number }>("GET", "/count")).body.consumed >= PIPELINE_JOBS,
      600_000,
      "the baseline pipeline",
    );
    const baselineSeconds = (Date.now() - started) / 1000;
    started = Date.now();
    await sendBatches(fast, pipeKey, PIPELINE_JOBS, () => ({ type: "cleanup-expired-sessions", payload: {} }));
    await waitUntil(async () => (await unfinished(fast, pipeKey)) === 0, 600_000, "the Edge Jobs pipeline");
    const edgeSeconds = (Date.now() - started) / 1000;
    const succeeded = await countJobs(fast, pipeKey, "succeeded");
    const pipeline = {
      jobs: PIPELINE_JOBS,
      succeeded,
      baselineJobsPerSecond: Math.round(PIPELINE_JOBS / baselineSeconds),
      edgeJobsPerSecond: Math.round(PIPELINE_JOBS / edgeSeconds),
    };

    // 3. Cost: each scenario alone, its operations read off the Worker's own logs.
    const scenarios: Record<string, (i: number) => Record<string, unknown>> = {
      plain: (i) => ({ type: "send-order-confirmation", payload: { orderId: `p-${i}` } }),
      idempotencyKey: (i) => ({
        type: "send-order-confirmation",
        payload: { orderId: `k-${i}` },
        idempotencyKey: `order-k-${i}`,
      }),
      flowControlled: (i) => ({
        type: "send-order-confirmation",
        payload: { orderId: `f-${i}` },
        flow: { key: "warehouse", rate: { limit: 10_000, periodSeconds: 1 } },
      }),
      failsOnceThenSucceeds: (i) => ({
        type: "sync-order-side-effects",
        payload: { orderId: `fail-once-${i}` },
        backoff: { type: "fixed", delaySeconds: 1 },
      }),
      httpWithCallback: (i) => ({
        type: "http",
        payload: { url: `${orderApi.url}/hook/${i}`, body: { i } },
        callbackUrl: `${orderApi.url}/callback`,
        // Its own flow: the default per-host limit (10 at once) would defer most of a 200-job burst.
        flow: { key: "bench-hooks", concurrency: 200 },
      }),
    };
    const cost: Record<string, Counts & { dollarsPerMillion: number; vsQstash: number }> = {};
    for (const [name, job] of Object.entries(scenarios)) {
      const tenantKey = await edge.newKey(`cost-${name.toLowerCase()}`);
      await sleep(1_500);
      const from = edge.output().length;
      for (let i = 0; i < COST_JOBS; i++) {
        const res = await edge.call("POST", "/v1/jobs", { token: tenantKey, body: job(i) });
        if (res.status !== 202) throw new Error(`${name}: enqueue answered ${res.status}: ${JSON.stringify(res.body)}`);
      }
      await waitUntil(async () => (await unfinished(edge, tenantKey)) === 0, 300_000, `the ${name} jobs`);
      await sleep(3_000); // callbacks and the last invocation lines
      const counts = summarizeLogs(edge.output().slice(from), COST_JOBS);
      const dollars = priceOf(counts);
      cost[name] = { ...counts, dollarsPerMillion: dollars, vsQstash: Number((dollars / 10).toFixed(2)) };
    }

    const summary = {
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      settings: {
        enqueueSeconds: ENQUEUE_SECONDS,
        connections: CONNECTIONS,
        pipelineJobs: PIPELINE_JOBS,
        costJobs: COST_JOBS,
      },
      enqueue: {
        ...enqueue,
        ratio: Number((enqueue.edgeJobs.requestsPerSecond / enqueue.baseline.requestsPerSecond).toFixed(2)),
        target: 0.8,
      },
      pipeline: {
        ...pipeline,
        ratio: Number((pipeline.edgeJobsPerSecond / pipeline.baselineJobsPerSecond).toFixed(2)),
        target: 0.7,
      },
      cost,
      qstashDollarsPerMillion: 10,
    };
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    await fast.stop();
    await edge.stop();
    await baseline.stop();
    await orderApi.close();
  }
}

await main();
