// What the service layer needs from one request (db, registry, tenant, logger), built once for every route.

import type { Context } from "hono";
import { jobQueueOf } from "../core/config";
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
  queue: jobQueueOf(c.env),
  tenant: tenantOf(c),
  log: c.var.log,
});
