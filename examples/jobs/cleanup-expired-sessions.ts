// Maintenance example: asks the app to drop expired sessions; meant to run from a schedule.
import { z } from "zod";
import { defineJob } from "../../src/core/define-job";
import { callOrderApi } from "./call-order-api";

export const cleanupExpiredSessions = defineJob({
  type: "cleanup-expired-sessions",
  input: z.object({}).strict(),
  maxAttempts: 3,
  run: (_input, ctx) => callOrderApi("cleanup-expired-sessions", {}, ctx),
});
