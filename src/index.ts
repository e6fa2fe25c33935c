// The default deployment: the built-in `http` job and the checkout examples, composed as a library user would.
import { exampleJobs } from "../examples/jobs";
import { httpJob } from "./builtin/http";
import { createEdgeJobs } from "./edge-jobs";

const edge = createEdgeJobs<Env>({ jobs: [httpJob, ...exampleJobs] });

export default edge.handlers satisfies ExportedHandler<Env>;

/** Enqueue from another Worker through a service binding (README: "Use from another Worker"). */
export class JobsRpc extends edge.JobsRpc {}

export {
  defineJob,
  defineSchedule,
  type JobsRpcProps,
  KeyGate,
  NonRetryableError,
  RetryAfterError,
} from "./edge-jobs";
