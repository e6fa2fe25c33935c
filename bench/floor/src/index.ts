// Recording-floor Worker for bench/: the D1 work Edge Jobs does per job and nothing else — no auth,
// validation, flow control, logs or metering. Enqueue inserts the rows then sends their ids; each
// consumer batch reads its rows with one SELECT and writes their outcomes in one db.batch of UPDATEs.
import { Hono } from "hono";

type Message = { tenant: string; id: string };
type FloorEnv = { DB: D1Database; QUEUE: Queue<Message> };
type Item = { type?: string; payload?: unknown; delaySeconds?: number };

const TENANT = "floor";
const INSERT =
  "insert into jobs (tenant_id, id, type, status, payload, attempts, max_attempts, options, run_at, created_at, updated_at, idempotency_key, callback_url, metadata, outbox, attempt_log) values (?, ?, ?, 'queued', ?, 0, 3, ?, ?, ?, ?, null, null, '{}', 0, '[]')";
const FINISH =
  "update jobs set status = 'succeeded', attempts = attempts + 1, result = 'null', started_at = ?, finished_at = ?, updated_at = ? where tenant_id = ? and id = ? and status = 'queued'";
const OPTIONS = '{"backoff":{"type":"exponential","baseSeconds":2,"maxSeconds":3600},"timeoutSeconds":60,"flow":null}';

// wrangler dev runs one isolate, so a module-level counter sees every consumed message.
let consumed = 0;

async function insertAndSend(env: FloorEnv, items: Item[]) {
  const now = Date.now();
  const insert = env.DB.prepare(INSERT);
  const rows = items.map((item) => ({ id: crypto.randomUUID(), item }));
  await env.DB.batch(
    rows.map(({ id, item }) =>
      insert.bind(TENANT, id, item.type ?? "noop", JSON.stringify(item.payload ?? {}), OPTIONS, now, now, now),
    ),
  );
  await env.QUEUE.sendBatch(
    rows.map(({ id, item }) => ({ body: { tenant: TENANT, id }, delaySeconds: item.delaySeconds ?? 0 })),
  );
  return rows.map(({ id, item }) => ({ id, type: item.type ?? "noop", status: "queued" }));
}

const app = new Hono<{ Bindings: FloorEnv }>();

app.get("/healthz", (c) => c.json({ ok: true }));
app.get("/count", (c) => c.json({ consumed }));
app.post("/v1/jobs", async (c) => {
  const [job] = await insertAndSend(c.env, [await c.req.json<Item>()]);
  return c.json(job, 202);
});
app.post("/v1/jobs/batch", async (c) => {
  const { jobs } = await c.req.json<{ jobs: Item[] }>();
  return c.json({ jobs: await insertAndSend(c.env, jobs) }, 202);
});

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<Message>, env: FloorEnv) {
    const ids = batch.messages.map((m) => m.body.id);
    // D1 binds at most 100 parameters per statement: the tenant and up to 99 ids, in one round trip.
    const selects: D1PreparedStatement[] = [];
    for (let i = 0; i < ids.length; i += 99) {
      const chunk = ids.slice(i, i + 99);
      const sql = `select * from jobs where tenant_id = ? and id in (${chunk.map(() => "?").join(", ")})`;
      selects.push(env.DB.prepare(sql).bind(TENANT, ...chunk));
    }
    await env.DB.batch(selects);
    const now = Date.now();
    const finish = env.DB.prepare(FINISH);
    await env.DB.batch(ids.map((id) => finish.bind(now, now, now, TENANT, id)));
    consumed += ids.length;
    batch.ackAll();
  },
} satisfies ExportedHandler<FloorEnv, Message>;
