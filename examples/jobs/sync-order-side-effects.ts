// Checkout example: inventory, analytics and the warehouse, updated after the order is saved.
import { z } from "zod";
import { defineJob } from "../../src/core/define-job";
import { callOrderApi } from "./call-order-api";

export const syncOrderSideEffects = defineJob({
  type: "sync-order-side-effects",
  input: z.object({ orderId: z.string().min(1).max(200) }),
  timeoutSeconds: 60,
  run: (input, ctx) => callOrderApi("sync-order-side-effects", input, ctx),
});
