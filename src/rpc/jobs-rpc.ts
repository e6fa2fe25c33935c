// JobsRpc: the job API for Workers in the same account, over a service binding instead of public HTTP.
import { WorkerEntrypoint } from "cloudflare:workers";
import type { z } from "zod";
import type { EnqueueRequest, ListJobsQuery } from "../client/types";
import { type Db, openDb } from "../db/client";
import { attemptLogOf, cancelJob, getJob, listJobs, requeueByHandStatement, rowToJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { ApiError, notFound, zodIssues } from "../http/errors";
import { page } from "../http/routes/jobs";
import {
  BatchEnqueueSchema,
  EnqueueSchema,
  JobIdParam,
  ListJobsQuery as ListJobsQuerySchema,
  TenantSchema,
} from "../http/schemas";
import { createRegistry, type JobDefinition, type JobRegistry } from "../jobs/define-job";
import { newId } from "../jobs/ids";
import { type Logger, log } from "../jobs/logger";
import type { JobMessage } from "../jobs/types";
import { type EnqueueContext, enqueue, sendMessages } from "../queue/producer";
import { toRpcError } from "./rpc-errors";
import type { Job, JobDetail, JobPage } from "./rpc-types";

/** Set on the caller's service binding (`[services.props]`): the tenant every call acts for. */
export type JobsRpcProps = { tenant: string };

function parse<T extends z.ZodType>(schema: T, input: unknown, where = ""): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success)
    throw new ApiError("invalid_request", "the request failed validation", zodIssues(result.error, where));
  return result.data;
}

type Session = { tenant: string; log: Logger };

/** Stored payloads and results are parsed JSON text, so the cast only names what they already are. */
const wireJob = (row: JobRow): Job => rowToJob(row) as Job;

/** The tenant comes from the binding's configuration (`ctx.props`), never from the arguments. */
function sessionOf(props: Partial<JobsRpcProps> | undefined): Session {
  const tenant = TenantSchema.safeParse(props?.tenant);
  if (!tenant.success) {
    throw new ApiError("forbidden", 'this service binding names no valid tenant: set props = { tenant = "…" }');
  }
  return { tenant: tenant.data, log: log.child({ tenant: tenant.data, requestId: newId("rpc", Date.now()) }) };
}

/** Runs one call for the binding's tenant, mapping what it throws to the contract's codes. */
async function run<T>(method: string, props: JobsRpcProps | undefined, work: (s: Session) => Promise<T>): Promise<T> {
  let session: Session | undefined;
  const started = Date.now();
  try {
    session = sessionOf(props);
    const result = await work(session);
    session.log.info("rpc", { method, durationMs: Date.now() - started });
    return result;
  } catch (err) {
    const logger = session?.log ?? log;
    const error = toRpcError(err, logger);
    logger.info("rpc refused", { method, code: error.code, durationMs: Date.now() - started });
    throw error;
  }
}

function enqueueContext(env: Env, registry: JobRegistry, { tenant, log }: Session): EnqueueContext {
  return {
    db: openDb(env.DB),
    queue: env.JOBS_QUEUE as Queue<JobMessage>,
    registry,
    tenant,
    now: Date.now(),
    payloadLimitBytes: Number(env.PAYLOAD_LIMIT_BYTES || 262_144),
    allowPrivateTargets: env.ALLOW_PRIVATE_TARGETS === "true",
    log,
    gates: env.KEY_GATE,
  };
}

/** `not_found` when the job is not this tenant's, else `conflict` naming the state that blocked it. */
async function refuse(db: Db, tenant: string, id: string, action: string): Promise<never> {
  const row = await getJob(db, tenant, id);
  if (!row) throw notFound("job");
  throw new ApiError("conflict", `cannot ${action} a job that is ${row.status}`);
}

/**
 * The entrypoint class for a deployment's job types. Each method is the twin of an HTTP route: the
 * same schemas, the same producer and the same transitions, so a job enqueued here is indistinguishable
 * from one enqueued over HTTP. Refusals throw a JobsRpcError whose `code` is the contract's.
 * Every method of the class is callable over RPC, so it holds nothing but the public calls.
 */
export function createJobsRpc(jobs: JobDefinition[]) {
  const registry = createRegistry(jobs);

  return class JobsRpc extends WorkerEntrypoint<Env, JobsRpcProps> {
    /** Like POST /v1/jobs: the new job, or the original one when its idempotencyKey was seen within its TTL. */
    enqueue(job: EnqueueRequest): Promise<Job> {
      return run("enqueue", this.ctx.props, async (session) => {
        const input = parse(EnqueueSchema, job);
        const [enqueued] = await enqueue([input], enqueueContext(this.env, registry, session));
        if (!enqueued) throw new Error("the producer answered no job");
        return wireJob(enqueued.row);
      });
    }

    /** Like POST /v1/jobs/batch: 1…100 jobs, validated all or nothing. */
    enqueueBatch(jobs: EnqueueRequest[]): Promise<Job[]> {
      return run("enqueueBatch", this.ctx.props, async (session) => {
        const input = parse(BatchEnqueueSchema, { jobs });
        const enqueued = await enqueue(input.jobs, enqueueContext(this.env, registry, session));
        return enqueued.map((e) => wireJob(e.row));
      });
    }

    /** Like GET /v1/jobs/:id, with the attempt log. */
    get(id: string): Promise<JobDetail> {
      return run("get", this.ctx.props, async ({ tenant }) => {
        const row = await getJob(openDb(this.env.DB), tenant, parse(JobIdParam, { id }).id);
        if (!row) throw notFound("job");
        return { ...wireJob(row), attemptLog: attemptLogOf(row) };
      });
    }

    /** Like GET /v1/jobs: one page, newest first; pass `nextCursor` back as `cursor` for the next. */
    list(query: ListJobsQuery & { cursor?: string } = {}): Promise<JobPage> {
      return run("list", this.ctx.props, async ({ tenant }) => {
        const filter = parse(ListJobsQuerySchema, query);
        const rows = await listJobs(openDb(this.env.DB), tenant, filter);
        const { data, nextCursor } = page(rows, filter.limit);
        return { data: data as Job[], nextCursor };
      });
    }

    /** Like POST /v1/jobs/:id/cancel: only scheduled, queued or retrying jobs; otherwise `conflict`. */
    cancel(id: string): Promise<Job> {
      return run("cancel", this.ctx.props, async ({ tenant, log }) => {
        const db = openDb(this.env.DB);
        const jobId = parse(JobIdParam, { id }).id;
        const row = await cancelJob(db, tenant, jobId, Date.now());
        if (!row) return refuse(db, tenant, jobId, "cancel");
        log.info("job cancelled", { jobId, type: row.type, status: "cancelled" });
        return wireJob(row);
      });
    }

    /** Like POST /v1/jobs/:id/retry: dead or cancelled jobs go back to the queue, attempts reset. */
    retry(id: string): Promise<Job> {
      return run("retry", this.ctx.props, async ({ tenant, log }) => {
        const db = openDb(this.env.DB);
        const jobId = parse(JobIdParam, { id }).id;
        const now = Date.now();
        const [row] = await requeueByHandStatement(db, tenant, [jobId], now);
        if (!row) return refuse(db, tenant, jobId, "retry");
        await sendMessages(this.env.JOBS_QUEUE as Queue<JobMessage>, [row], now, log);
        return wireJob(row);
      });
    }
  };
}
