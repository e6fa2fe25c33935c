// Example workflow: reserve stock, wait for the payment event, notify the warehouse, sleep, then send a follow-up.
import { z } from "zod";
import { defineJob } from "../../src/core/define-job";
import { callOrderApi } from "./call-order-api";

/** How long the order waits for its `payment.captured` event before it gives up. */
const PAYMENT_TIMEOUT_SECONDS = 86_400;

/**
 * Each `ctx.step.run` is done once: its result is stored, so a retry or a wake re-runs the handler from the top
 * and skips it. The side effects live inside steps; everything outside them is plain, repeatable code.
 */
export const fulfillOrder = defineJob({
  type: "fulfill-order",
  input: z.object({
    orderId: z.string().min(1).max(200),
    followUpDelaySeconds: z
      .number()
      .int()
      .min(1)
      .max(365 * 86_400)
      .default(86_400),
  }),
  timeoutSeconds: 60,
  run: async ({ orderId, followUpDelaySeconds }, ctx) => {
    await ctx.step.run("reserve-stock", () => callOrderApi("reserve-stock", { orderId }, ctx));
    // Parks the job (no attempt, no consumer held) until POST /v1/events {name: "payment.captured", key: orderId}.
    const payment = await ctx.step.waitForEvent("payment", {
      event: "payment.captured",
      key: orderId,
      timeoutSeconds: PAYMENT_TIMEOUT_SECONDS,
    });
    if (payment === null) return { orderId, status: "payment-timeout" };
    await ctx.step.run("notify-warehouse", () => callOrderApi("notify-warehouse", { orderId, payment }, ctx));
    await ctx.step.sleep("follow-up", followUpDelaySeconds);
    await ctx.step.run("send-follow-up", () => callOrderApi("send-follow-up", { orderId }, ctx));
    return { orderId, status: "fulfilled" };
  },
});
