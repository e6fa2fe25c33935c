// The checkout Worker: POST /orders answers 201 as soon as the order is saved and its jobs are enqueued.
import { Hono } from "hono";
import type { CheckoutEnv } from "./env";
import { findOrder, ordersWithoutFollowUps } from "./orders";
import { enqueueFollowUps, OrderInput, placeOrder } from "./place-order";

/** How many stranded orders one cron run hands to Edge Jobs. */
const SWEEP_LIMIT = 50;

const app = new Hono<{ Bindings: CheckoutEnv }>();

app.get("/healthz", (c) => c.json({ ok: true }));

app.post("/orders", async (c) => {
  const parsed = OrderInput.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    return c.json({ error: { code: "invalid_request", message: "the order failed validation", issues } }, 400);
  }
  return c.json(await placeOrder(c.env, parsed.data, Date.now()), 201);
});

/** The order with the live state of its follow-up jobs, read from Edge Jobs over the same binding. */
app.get("/orders/:id", async (c) => {
  const order = await findOrder(c.env.ORDERS_DB, c.req.param("id"));
  if (!order) return c.json({ error: { code: "not_found", message: "order not found" } }, 404);
  const ids = [order.confirmationJobId, order.sideEffectsJobId].filter((id): id is string => id !== null);
  const followUps = await Promise.all(
    ids.map(async (id) => {
      try {
        const answer = await c.env.JOBS.get(id);
        if (answer.ok) return { id, type: answer.job.type, status: answer.job.status, attempts: answer.job.attempts };
        // Finished jobs are pruned after the retention period.
        return { id, type: null, status: answer.error.code === "not_found" ? "pruned" : "unknown", attempts: null };
      } catch {
        // Edge Jobs cannot be reached right now.
        return { id, type: null, status: "unknown", attempts: null };
      }
    }),
  );
  return c.json({ ...order, followUps });
});

export default {
  fetch: app.fetch,
  /** Orders saved while Edge Jobs was unreachable get their follow-ups now, exactly once thanks to the keys. */
  async scheduled(_controller, env) {
    for (const order of await ordersWithoutFollowUps(env.ORDERS_DB, SWEEP_LIMIT)) await enqueueFollowUps(env, order);
  },
} satisfies ExportedHandler<CheckoutEnv>;
