// The checkout example's job types (examples/checkout enqueues them); the default deployment registers them beside the built-ins.
import type { JobDefinition } from "../../src/core/define-job";
import { cleanupExpiredSessions } from "./cleanup-expired-sessions";
import { sendOrderConfirmation } from "./send-order-confirmation";
import { syncOrderSideEffects } from "./sync-order-side-effects";

export const exampleJobs: JobDefinition[] = [sendOrderConfirmation, syncOrderSideEffects, cleanupExpiredSessions];
