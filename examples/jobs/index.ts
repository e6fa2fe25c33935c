// The checkout example's job types (examples/checkout enqueues them) and the fulfill-order workflow; the default
// deployment registers them beside the built-ins.
import type { JobDefinition } from "../../src/core/define-job";
import { cleanupExpiredSessions } from "./cleanup-expired-sessions";
import { fulfillOrder } from "./fulfill-order";
import { sendOrderConfirmation } from "./send-order-confirmation";
import { syncOrderSideEffects } from "./sync-order-side-effects";

export const exampleJobs: JobDefinition[] = [
  sendOrderConfirmation,
  syncOrderSideEffects,
  cleanupExpiredSessions,
  fulfillOrder,
];
