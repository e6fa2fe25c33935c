// What the service layer needs from one request (db, registry, tenant, logger), built once for every route.
import type { Context } from "hono";
import type { JobMessage } from "../contract/job";
import type { EnqueueContext } from "../service/enqueue";
import { enqueueContextOf } from "../service/enqueue-context";
import type { ManageDeps } from "../service/manage-jobs";
import type { AppEnv } from "./app-env";
import { tenantOf } from "./auth";

export function enqueueContext(c: Context<AppEnv>): EnqueueContext {
  return enqueueContextOf(c.env, { db: c.var.db, registry: c.var.registry, tenant: tenantOf(c), log: c.var.log });
}

export const manageDeps = (c: Context<AppEnv>): ManageDeps => ({
  db: c.var.db,
  queue: c.env.JOBS_QUEUE as Queue<JobMessage>,
  tenant: tenantOf(c),
  log: c.var.log,
});
