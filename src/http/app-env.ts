// Hono's environment: the Worker's bindings plus what middleware puts on each request.

import type { JobRegistry } from "../core/define-job";
import type { Logger } from "../core/logger";
import type { Db } from "../db/client";

export type Principal = { role: "admin" } | { role: "tenant"; tenant: string; keyId: string };

export type AppEnv = {
  Bindings: Env;
  Variables: {
    registry: JobRegistry;
    /** The tenant's shard (src/http/tenant-shard.ts): jobs, schedules, batches. The control database until then. */
    db: Db;
    /** The control database: API keys, dashboard sessions, tenant placement. */
    control: Db;
    log: Logger;
    requestId: string;
    principal: Principal;
  };
};
