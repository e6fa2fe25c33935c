// Hono's environment: the Worker's bindings plus what middleware puts on each request.

import type { Db } from "../db/client";
import type { JobRegistry } from "../jobs/define-job";
import type { Logger } from "../jobs/logger";

export type Principal = { role: "admin" } | { role: "tenant"; tenant: string; keyId: string };

export type AppEnv = {
  Bindings: Env;
  Variables: {
    registry: JobRegistry;
    db: Db;
    log: Logger;
    requestId: string;
    principal: Principal;
  };
};
