// Baseline Worker for bench/: accept a job and send its id to a queue; the consumer acks and counts.
import { Hono } from "hono";

type BaselineEnv = { QUEUE: Queue<{ id: string }> };

// wrangler dev runs one isolate, so a module-level counter sees every consumed message.
let consumed = 0;

const app = new Hono<{ Bindings: BaselineEnv }>();

app.get("/healthz", (c) => c.json({ ok: true }));

app.post("/v1/jobs", async (c) => {
  const body = await c.req.json<{ type?: string }>();
  const id = crypto.randomUUID();
  await c.env.QUEUE.send({ id });
  return c.json({ id, type: body.type ?? null, status: "queued" }, 202);
});

app.post("/v1/jobs/batch", async (c) => {
  const body = await c.req.json<{ jobs: unknown[] }>();
  const ids = body.jobs.map(() => crypto.randomUUID());
  await c.env.QUEUE.sendBatch(ids.map((id) => ({ body: { id } })));
  return c.json({ jobs: ids.map((id) => ({ id, status: "queued" })) }, 202);
});

app.get("/count", (c) => c.json({ consumed }));

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>) {
    consumed += batch.messages.length;
    batch.ackAll();
  },
} satisfies ExportedHandler<BaselineEnv>;
