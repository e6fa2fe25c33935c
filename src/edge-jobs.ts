// The library's front door: createEdgeJobs() turns a Worker's job types into its handlers, Durable Object, RPC entrypoint and Hono API.
import { Hono } from "hono";
import { basePath } from "hono/route";
import type { z } from "zod";
import type { EnqueueRequest } from "./client/types";
import { createRegistry, type JobDefinition, type JobRegistry } from "./core/define-job";
import type { KeyGate } from "./gate/key-gate";
import { createJobsRpc, type JobsRpcClass } from "./rpc/jobs-rpc";
import type { DeclaredSchedule } from "./scheduler/define-schedule";
import { createWorker } from "./worker";

export type { Job as ApiJob, JobDetail, JobStatus as ApiJobStatus } from "./client/types";
export type { Backoff, FlowSettings, JobStatus } from "./contract/job";
export type { JobContext, JobDefinition, JobRegistry } from "./core/define-job";
export { defineJob } from "./core/define-job";
export { NonRetryableError, RetryAfterError } from "./core/errors";
export type { LogFields, Logger } from "./core/logger";
export type { InvokeOptions, StepApi, StepJson, WaitingFor } from "./core/steps";
export { ChildJobFailedError, StepRuleError } from "./core/steps";
/**
 * The Durable Object bound as KEY_GATE: `export { KeyGate } from "edge-jobs"` in the Worker's entry. Not a member
 * of createEdgeJobs()'s answer: `wrangler types` names the entry's KeyGate in Env, so a subclass of a value built
 * from createEdgeJobs<Env>() would make Env depend on itself.
 */
export { KeyGate } from "./gate/key-gate";
export type { JobsRpcCalls, JobsRpcClass, JobsRpcProps } from "./rpc/jobs-rpc";
export type { Answer, Job as RpcJob, JobDetail as RpcJobDetail, JobPage as RpcJobPage } from "./rpc/rpc-types";
export type { DeclaredSchedule, ScheduleDefinition } from "./scheduler/define-schedule";
export { defineSchedule } from "./scheduler/define-schedule";

/**
 * The bindings and vars Edge Jobs reads from the Worker's env (the starter's wrangler.toml declares them all,
 * so its `wrangler types` Env satisfies this). Vars left unset take their defaults.
 */
export interface EdgeJobsEnv {
  /** The control database (API keys, dashboard sessions, tenant placement), and the first job-storage shard. */
  DB: D1Database;
  /**
   * The D1 bindings job storage is spread over, comma-separated, DB first (default "DB"): "DB,JOBS_DB_1,JOBS_DB_2".
   * Each listed binding needs its [[d1_databases]] entry with the same migrations.
   */
  JOBS_DBS?: string;
  /** The `default` lane's queue. Every other lane named in LANES needs its own binding, JOBS_QUEUE_<NAME>. */
  JOBS_QUEUE: Queue;
  /** The lanes (named queues) jobs may name with `queue`, comma-separated (default "default"), e.g. "default,critical". */
  LANES?: string;
  KEY_GATE: DurableObjectNamespace<KeyGate>;
  /** Secret: the token that creates and revokes API keys (/v1/keys). Without it no key can be made. */
  ADMIN_TOKEN?: string;
  /** Largest accepted payload in bytes (default 262144). */
  PAYLOAD_LIMIT_BYTES?: string;
  /** Days finished jobs are kept (default 7), and dead ones (default 30). */
  RETENTION_DAYS?: string;
  DEAD_RETENTION_DAYS?: string;
  /** How long a `queued` row may wait for its message before the tick re-sends it (default 300). */
  OUTBOX_GRACE_SECONDS?: string;
  /** "info" (default) or "warn". */
  LOG_LEVEL?: string;
  /** "true" lets `http` jobs and callbacks reach private addresses: local development only. */
  ALLOW_PRIVATE_TARGETS?: string;
  /** Dev and tests only: "standard" or "free" makes every production-limit break throw. */
  ENFORCE_PLATFORM_LIMITS?: string;
}

/** Each job type's name → the payload its enqueue takes (zod input), from a list of definitions. */
export type JobPayloads<Jobs extends readonly { type: string; input: z.ZodType }[]> = {
  [J in Jobs[number] as J["type"]]: z.input<J["input"]>;
};

/**
 * An enqueue body (HTTP POST /v1/jobs, the client, JobsRpc.enqueue) whose payload is checked against its job type
 * at compile time: `const job: EnqueueRequestOf<typeof jobs> = { type: "greet", payload: { name: "Ada" } }`.
 */
export type EnqueueRequestOf<Jobs extends readonly { type: string; input: z.ZodType }[]> = {
  [T in keyof JobPayloads<Jobs>]: Omit<EnqueueRequest, "type" | "payload"> & { type: T; payload: JobPayloads<Jobs>[T] };
}[keyof JobPayloads<Jobs>];

/** The RPC entrypoint's interface, for a calling Worker's `Service<JobsRpc>` binding type. */
export type JobsRpc = InstanceType<JobsRpcClass>;

export type EdgeJobsOptions<E extends EdgeJobsEnv> = {
  jobs: readonly JobDefinition<z.ZodType, unknown, E>[];
  /** Recurring jobs declared in code (defineSchedule); upserted by name on the cron tick. */
  schedules?: readonly DeclaredSchedule[];
};

export type EdgeJobs<E extends EdgeJobsEnv> = {
  /** `export default edge.handlers`: the HTTP API, the queue consumers (jobs and jobs-dlq) and the cron tick. */
  handlers: {
    fetch: ExportedHandlerFetchHandler<E>;
    queue: ExportedHandlerQueueHandler<E>;
    scheduled: ExportedHandlerScheduledHandler<E>;
  };
  /** `export class JobsRpc extends edge.JobsRpc {}`: the job API for other Workers over a service binding. */
  JobsRpc: JobsRpcClass;
  /** The HTTP API as a Hono sub-app, for `app.route("/jobs", edge.api)` in an existing Hono app. */
  api: Hono<{ Bindings: E }>;
  registry: JobRegistry;
};

/**
 * Composes Edge Jobs for a Worker whose env is `E`. Throws at startup on a duplicate or badly named job type,
 * or a declared schedule whose type or payload does not fit, so a bad composition never deploys.
 */
export function createEdgeJobs<E extends EdgeJobsEnv>(options: EdgeJobsOptions<E>): EdgeJobs<E> {
  // The handlers pass the Worker's own env (an E) to each job's ctx.env; the engine only names it by the bindings it reads.
  const jobs = [...options.jobs] as unknown as JobDefinition[];
  const worker = createWorker({ jobs, schedules: [...(options.schedules ?? [])] });
  const handlers = worker as unknown as EdgeJobs<E>["handlers"];

  const api = new Hono<{ Bindings: E }>();
  // The same fetch handler as the Worker's (metered, one error shape), seeing paths without the mount prefix.
  api.all("*", (c) => {
    const url = new URL(c.req.url);
    url.pathname = url.pathname.slice(basePath(c).length) || "/";
    let ctx: unknown;
    try {
      ctx = c.executionCtx;
    } catch {
      // app.request() in a test has no execution context; the API only uses it for waitUntil.
    }
    const request = new Request(url, c.req.raw) as Parameters<typeof handlers.fetch>[0];
    return handlers.fetch(request, c.env, ctx as ExecutionContext);
  });

  return { handlers, JobsRpc: createJobsRpc(jobs), api, registry: createRegistry(jobs) };
}
