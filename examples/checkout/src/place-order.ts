// The seed's placeOrder: validate, save the order, hand the side effects to Edge Jobs, answer at once.
import { z } from "zod";
import type { CheckoutEnv } from "./env";
import { type Order, recordFollowUps, saveOrder } from "./orders";

export const OrderInput = z
  .object({
    userId: z.string().min(1).max(200),
    items: z
      .array(
        z
          .object({
            sku: z.string().min(1).max(100),
            quantity: z.number().int().min(1).max(1000),
            priceCents: z.number().int().min(0).max(100_000_000),
          })
          .strict(),
      )
      .min(1)
      .max(100),
  })
  .strict();

export type FollowUps = { confirmation: string; sideEffects: string };

/**
 * Enqueues the order's two follow-up jobs in one all-or-nothing batch. The idempotency keys make a
 * repeat (the sweep after a timeout that did reach Edge Jobs, say) answer the same two jobs. Never
 * throws: a failure here must not fail an order that is already saved. Null means "not yet".
 */
export async function enqueueFollowUps(env: CheckoutEnv, order: Order): Promise<FollowUps | null> {
  const metadata = { orderId: order.id };
  const notYet = (why: Record<string, unknown>) => {
    console.log(
      JSON.stringify({
        level: "warn",
        msg: "follow-up jobs not enqueued yet; the sweep will retry",
        orderId: order.id,
        ...why,
      }),
    );
    return null;
  };
  try {
    const answer = await env.JOBS.enqueueBatch([
      {
        type: "send-order-confirmation",
        payload: { orderId: order.id, userId: order.userId },
        idempotencyKey: `${order.id}:send-order-confirmation`,
        metadata,
      },
      {
        type: "sync-order-side-effects",
        payload: { orderId: order.id },
        idempotencyKey: `${order.id}:sync-order-side-effects`,
        metadata,
      },
    ]);
    // A refusal (the contract's code and issues) is an answer, not an exception.
    if (!answer.ok) return notYet({ code: answer.error.code, error: answer.error.message });
    const [confirmation, sideEffects] = answer.jobs;
    if (!confirmation || !sideEffects) return notYet({ error: "Edge Jobs answered fewer jobs than it was sent" });
    await recordFollowUps(env.ORDERS_DB, order.id, confirmation.id, sideEffects.id);
    return { confirmation: confirmation.id, sideEffects: sideEffects.id };
  } catch (err) {
    // Edge Jobs unreachable, or failing: the binding call itself threw.
    return notYet({ error: err instanceof Error ? err.message : String(err) });
  }
}

export async function placeOrder(env: CheckoutEnv, input: z.infer<typeof OrderInput>, now: number) {
  const order: Order = {
    id: `ord_${crypto.randomUUID()}`,
    userId: input.userId,
    items: input.items,
    totalCents: input.items.reduce((sum, item) => sum + item.quantity * item.priceCents, 0),
    status: "confirmed",
    confirmationJobId: null,
    sideEffectsJobId: null,
    createdAt: now,
  };
  // Saved before anything is enqueued: a job never points at an order that does not exist.
  await saveOrder(env.ORDERS_DB, order);
  const jobs = await enqueueFollowUps(env, order);
  return { orderId: order.id, status: order.status, totalCents: order.totalCents, jobs };
}
