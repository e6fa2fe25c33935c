// Checkout example: tell the order API to send the receipt email for an order.
import { z } from "zod";
import { defineJob } from "../../src/core/define-job";
import { callOrderApi } from "./call-order-api";

export const sendOrderConfirmation = defineJob({
  type: "send-order-confirmation",
  input: z.object({ orderId: z.string().min(1).max(200), userId: z.string().min(1).max(200).optional() }),
  maxAttempts: 8,
  timeoutSeconds: 30,
  run: (input, ctx) => callOrderApi("send-order-confirmation", input, ctx),
});
