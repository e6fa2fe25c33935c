// Drives a running Edge Jobs for bench/run.ts and scale-inputs.ts: sends jobs as POST /v1/jobs/batch requests of 100,
// four in flight, and tells whether the tenant still has unfinished ones.
import type { DevServer } from "../test/e2e/harness.ts";

/** Sends `total` jobs as batches of 100, four requests in flight at a time; answers the seconds it took. */
export async function sendBatches(
  dev: DevServer,
  token: string | undefined,
  total: number,
  job: (i: number) => unknown,
): Promise<number> {
  const started = Date.now();
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
  return (Date.now() - started) / 1000;
}

/** How many of queued, running and retrying the tenant still has any of (0: its pipeline is drained). */
export async function unfinished(dev: DevServer, token: string): Promise<number> {
  const counts = await Promise.all(
    ["queued", "running", "retrying"].map(async (status) => {
      const res = await dev.call<{ data: unknown[] }>("GET", `/v1/jobs?status=${status}&limit=1`, { token });
      return res.body.data.length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
