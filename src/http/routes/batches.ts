// /v1/batches: routes of the v1.1 contract (filled in by their feature's commits).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";

export function registerBatchRoutes(_app: OpenAPIHono<AppEnv>): void {}
