// The Worker: Edge Jobs' HTTP API, queue consumers and cron tick, running this app's job types.
import { createEdgeJobs } from "edge-jobs";
import { httpJob } from "edge-jobs/builtin";
import { greet } from "./jobs/greet";

const edge = createEdgeJobs<Env>({ jobs: [httpJob, greet] });

export default edge.handlers;

/** The Durable Object behind idempotency keys and flow control (bound as KEY_GATE in wrangler.toml). */
export { KeyGate } from "edge-jobs";
/** Enqueue from another Worker through a service binding, without HTTP. */
export class JobsRpc extends edge.JobsRpc {}
