// The receiver helper, importable by a client Worker as "edge-jobs/webhooks": verify (and sign) Standard Webhooks.
import type { Job } from "../contract/job";

export {
  DEFAULT_TOLERANCE_SECONDS,
  type HeaderSource,
  signWebhook,
  type VerifyOptions,
  verifyWebhook,
  WebhookVerificationError,
  webhookHeaders,
} from "./signing";

/** The body of a completion callback, as Edge Jobs POSTs it to a job's callbackUrl. */
export type CallbackPayload = {
  type: "job.succeeded" | "job.dead";
  timestamp: string;
  data: Job;
};
