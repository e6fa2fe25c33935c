// The job types this deployment ships. Add yours here (see README: "Write a job type").
import type { JobDefinition } from "../core/define-job";
import { cleanupExpiredSessions } from "./cleanup-expired-sessions";
import { httpJob } from "./http";
import { sendOrderConfirmation } from "./send-order-confirmation";
import { syncOrderSideEffects } from "./sync-order-side-effects";

export const tasks: JobDefinition[] = [httpJob, sendOrderConfirmation, syncOrderSideEffects, cleanupExpiredSessions];
