// The Worker: Edge Jobs' HTTP API, queue consumers and cron tick, running this app's job types.
import { createEdgeJobs, type EnqueueRequestOf } from "edge-jobs";
import { httpJob } from "edge-jobs/builtin";
import { greet } from "./jobs/greet";

const jobs = [httpJob, greet];
const edge = createEdgeJobs<Env>({ jobs });

/** An enqueue body whose payload TypeScript checks against its job type (for the client, or another Worker). */
export type EnqueueRequest = EnqueueRequestOf<typeof jobs>;

export default edge.handlers;

/** The Durable Object behind idempotency keys and flow control (bound as KEY_GATE in wrangler.toml). */
export { KeyGate } from "edge-jobs";
/** Enqueue from another Worker through a service binding, without HTTP. */
export class JobsRpc extends edge.JobsRpc {}
