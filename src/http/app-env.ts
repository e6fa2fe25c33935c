// Hono's environment: the Worker's bindings plus what middleware puts on each request.

import type { JobRegistry } from "../core/define-job";
import type { Logger } from "../core/logger";
import type { Db } from "../db/client";

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
