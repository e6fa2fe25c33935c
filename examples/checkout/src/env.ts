// The checkout Worker's bindings: its own D1, and Edge Jobs through a service binding.
import type { JobsRpc } from "edge-jobs";

export type CheckoutEnv = {
  ORDERS_DB: D1Database;
  /** Calls run in Edge Jobs as the tenant named in the binding's props. */
  JOBS: Service<JobsRpc>;
};
