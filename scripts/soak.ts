// `npm run soak`: 10,000 `http` jobs against a flaky local server, with `wrangler dev` killed and restarted
// mid-run (its in-memory queue is lost, so the tick's outbox rescue must recover every job). Prints one
// JSON report and exits non-zero if any job was lost or any effect happened twice.
import { countJobs, type DevServer, startDev } from "../test/e2e/harness.ts";
import { startLocalServer } from "../test/e2e/local-server.ts";

const JOBS = Number(process.env.SOAK_JOBS ?? 10_000);
const POISON_EVERY = 100; // 1 %: answers 404, so the job is dead at once
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The target: 30 % of calls fail with a 503, 2 % hang past the job's timeout, the rest succeed once recorded. */
const deliveries = new Map<string, number>();
let calls = 0;
const target = await startLocalServer((req, res) => {
  calls++;
  if (req.path.startsWith("/poison/")) {
    res.statusCode = 404;
    res.end("no such thing");
    return;
  }
  const roll = Math.random();
  if (roll < 0.3) {
    res.statusCode = 503;
    res.end("busy");
    return;
  }
  if (roll < 0.32) {
    setTimeout(() => res.end("too late"), 6_000);
    return;
  }
  deliveries.set(req.path, (deliveries.get(req.path) ?? 0) + 1);
  res.end("ok");
});

const vars = { OUTBOX_GRACE_SECONDS: "10" };
let dev: DevServer = await startDev({ vars });
const key = await dev.newKey("soak");
const started = Date.now();

const countStatus = (status: string) => countJobs(dev, key, status);

async function countOpen(): Promise<number> {
  const counts = await Promise.all(["queued", "running", "retrying"].map(countStatus));
  return counts.reduce((a, b) => a + b, 0);
}

for (let start = 0; start < JOBS; start += 100) {
  const jobs = Array.from({ length: Math.min(100, JOBS - start) }, (_, k) => {
    const i = start + k;
    const path = i % POISON_EVERY === 0 ? `/poison/${i}` : `/work/${i}`;
    return {
      type: "http",
      payload: { url: `${target.url}${path}`, body: { i }, timeoutSeconds: 3 },
      maxAttempts: 10,
      backoff: { type: "fixed", delaySeconds: 1, jitter: false },
      flow: { key: "soak-target", concurrency: 500 },
    };
  });
  const res = await dev.call("POST", "/v1/jobs/batch", { token: key, body: { jobs } });
  if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${JSON.stringify(res.body)}`);
}
const enqueueSeconds = (Date.now() - started) / 1000;

// Let it work, then crash it mid-run and bring it back on the same state.
let restarts = 0;
const ticker = setInterval(() => void dev.tick().catch(() => {}), 5_000);
while ((await countStatus("succeeded")) < JOBS * 0.3) await sleep(2_000);
await dev.crash();
restarts++;
dev = await startDev({ vars, restart: { persistTo: dev.persistTo, port: dev.port } });

let open = await countOpen();
const deadline = Date.now() + 30 * 60_000;
while (open > 0 && Date.now() < deadline) {
  await sleep(5_000);
  open = await countOpen();
}
clearInterval(ticker);

const succeeded = await countStatus("succeeded");
const dead = await countStatus("dead");
const cancelled = await countStatus("cancelled");
const duplicates = [...deliveries.values()].filter((n) => n > 1).length;
const deliveredOnce = [...deliveries.keys()].length;
const report = {
  soak: {
    jobs: JOBS,
    enqueueSeconds,
    totalSeconds: (Date.now() - started) / 1000,
    restarts,
    targetCalls: calls,
    succeeded,
    dead,
    cancelled,
    open,
    lost: JOBS - succeeded - dead - cancelled,
    poisonPlanted: Math.ceil(JOBS / POISON_EVERY),
    targetsThatSawSuccess: deliveredOnce,
    // The target is not idempotent on purpose: a success whose acknowledgement was lost in the crash repeats.
    targetsWithRepeatedSuccess: duplicates,
  },
};
console.log(JSON.stringify(report, null, 2));
await dev.stop();
await target.close();
process.exit(report.soak.lost === 0 && open === 0 ? 0 : 1);
