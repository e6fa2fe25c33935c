// JobsRpc: the job API for Workers in the same account, over a service binding instead of public HTTP.

import { WorkerEntrypoint } from "cloudflare:workers";
import type { z } from "zod";
import type {
  CreateBatchRequest,
  EnqueueRequest,
  ListBatchesQuery,
  ListJobsQuery,
  SendEventRequest,
  SentEvent,
} from "../client/types";
import {
  AddBatchJobsSchema,
  BatchIdParam,
  CreateBatchSchema,
  ListBatchesQuery as ListBatchesQuerySchema,
} from "../contract/batches";
import { ApiError, notFound, zodIssues } from "../contract/errors";
import { SendEventSchema } from "../contract/events";
import { JobTypeParam } from "../contract/job-types";
import {
  BatchEnqueueSchema,
  EnqueueSchema,
  JobIdParam,
  ListJobsQuery as ListJobsQuerySchema,
  TenantSchema,
} from "../contract/schemas";
import { configOf, jobQueueOf, shardEnvOf } from "../core/config";
import { createRegistry, type JobDefinition, type JobRegistry } from "../core/define-job";
import { newId } from "../core/ids";
import { type Logger, log } from "../core/logger";
import { type Db, openDb } from "../db/client";
import { readSteps } from "../db/job-steps";
import { attemptLogOf, getJob, listJobs, rowToJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { tenantShard } from "../db/tenant-shards";
import { metered } from "../metering/invocation";
import { addBatchJobs, cancelBatch, closeBatch, createBatch, getBatch, listBatches } from "../service/batches";
import { cancelJobCascade } from "../service/cancel-job";
import { type EnqueueContext, enqueue } from "../service/enqueue";
import { enqueueContextOf } from "../service/enqueue-context";
import { eventDepsOf, sendEvent } from "../service/events";
import { type JobTypeDeps, listJobTypes, pauseJobType, resumeJobType } from "../service/job-types";
import { jobPage, requeueByHand } from "../service/manage-jobs";
import { refusalOf } from "./rpc-refusals";
import type { Answer, Batch, BatchPage, BatchWithJobs, Job, JobDetail, JobPage, JobType, Step } from "./rpc-types";

/** Set on the caller's service binding (`[services.props]`): the tenant every call acts for. */
export type JobsRpcProps = { tenant: string };

/** The entrypoint's calls as a calling Worker's `Service<JobsRpc>` sees them (each is documented on the class below). */
export interface JobsRpcCalls {
  enqueue(job: EnqueueRequest): Promise<Answer<"job", Job> | EnqueueAnswerDebounced>;
  enqueueBatch(jobs: EnqueueRequest[]): Promise<Answer<"jobs", Job[]>>;
  get(id: string): Promise<Answer<"job", JobDetail>>;
  list(query?: ListJobsQuery & { cursor?: string }): Promise<Answer<"page", JobPage>>;
  cancel(id: string): Promise<Answer<"job", Job>>;
  retry(id: string): Promise<Answer<"job", Job>>;
  sendEvent(event: SendEventRequest): Promise<Answer<"event", SentEvent>>;
  jobTypes(): Promise<Answer<"types", JobType[]>>;
  pauseJobType(type: string): Promise<Answer<"type", JobType>>;
  resumeJobType(type: string): Promise<Answer<"type", JobType>>;
  createBatch(batch: CreateBatchRequest): Promise<Answer<"batch", BatchWithJobs>>;
  addToBatch(id: string, jobs: EnqueueRequest[]): Promise<Answer<"batch", BatchWithJobs>>;
  closeBatch(id: string): Promise<Answer<"batch", Batch>>;
  cancelBatch(id: string): Promise<Answer<"batch", Batch>>;
  getBatch(id: string): Promise<Answer<"batch", Batch>>;
  listBatches(query?: ListBatchesQuery & { cursor?: string }): Promise<Answer<"page", BatchPage>>;
}

/** An enqueue that joined an open debounce window: the window's job, its payload replaced (HTTP: 200 + `Debounced: true`). */
export type EnqueueAnswerDebounced = { ok: true; job: Job; debounced: true };

/** What createJobsRpc answers, named so that a declaration file can state it (an anonymous class's protected members cannot be). */
export type JobsRpcClass = new (ctx: ExecutionContext, env: Env) => WorkerEntrypoint<Env, JobsRpcProps> & JobsRpcCalls;

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

/**
 * Runs one call for the binding's tenant on metered bindings (its D1 rows and Durable Object requests
 * are logged like an HTTP request's) and answers `{ok: true, [name]: value}`, or the refusal.
 */
async function run<Name extends string, T>(
  method: string,
  name: Name,
  props: JobsRpcProps | undefined,
  env: Env,
  work: (s: Session, env: Env) => Promise<T>,
): Promise<Answer<Name, T>> {
  let session: Session | undefined;
  const started = Date.now();
  try {
    session = sessionOf(props);
    const { tenant } = session;
    // One placement lookup per call (cached per isolate; none with one shard): the work runs on the tenant's shard.
    const value = await metered({ handler: "rpc", method, tenant }, env, async (meteredEnv) => {
      const shard = await tenantShard(meteredEnv.DB, configOf(meteredEnv).shards, tenant, Date.now());
      return work(session as Session, shardEnvOf(meteredEnv, shard));
    });
    return { ok: true, [name]: value } as Answer<Name, T>;
  } catch (err) {
    const logger = session?.log ?? log;
    const error = refusalOf(err, logger);
    logger.info("rpc refused", { method, code: error.code, durationMs: Date.now() - started });
    return { ok: false, error };
  }
}

function enqueueContext(env: Env, registry: JobRegistry, { tenant, log }: Session): EnqueueContext {
  return enqueueContextOf(env, { db: openDb(env.DB), registry, tenant, log });
}

function jobTypeDeps(env: Env, registry: JobRegistry, { tenant, log }: Session): JobTypeDeps {
  return { d1: env.DB, queue: jobQueueOf(env), registry, tenant, log, now: Date.now() };
}

/** Stored JSON (finisher payloads, job payloads, JSON Schemas) typed as what RPC can carry: the casts only name it. */
const wireBatch = <B>(batch: B) => batch as unknown as B extends { jobs: unknown } ? BatchWithJobs : Batch;
const wireType = (entry: unknown) => entry as JobType;

/** `not_found` when the job is not this tenant's, else `conflict` naming the state that blocked it. */
async function refuse(db: Db, tenant: string, id: string, action: string): Promise<never> {
  const row = await getJob(db, tenant, id);
  if (!row) throw notFound("job");
  throw new ApiError("conflict", `cannot ${action} a job that is ${row.status}`);
}

/**
 * The entrypoint class for a deployment's job types. Each method is the twin of an HTTP route: the
 * same schemas, the same producer and the same transitions, so a job enqueued here is indistinguishable
 * from one enqueued over HTTP. A refusal is answered, not thrown: `{ok: false, error: {code, message, issues}}`.
 * Every method of the class is callable over RPC, so it holds nothing but the public calls.
 */
export function createJobsRpc(jobs: JobDefinition[]): JobsRpcClass {
  const registry = createRegistry(jobs);

  return class JobsRpc extends WorkerEntrypoint<Env, JobsRpcProps> implements JobsRpcCalls {
    /**
     * Like POST /v1/jobs: the new job, or the original one when its idempotencyKey was seen within its TTL; a
     * debounced enqueue that joined an open window answers `{ok: true, job, debounced: true}` with that window's job.
     */
    async enqueue(job: EnqueueRequest): Promise<Answer<"job", Job> | EnqueueAnswerDebounced> {
      let debounced = false;
      const answer = await run("enqueue", "job", this.ctx.props, this.env, async (session, env) => {
        const input = parse(EnqueueSchema, job);
        const [enqueued] = await enqueue([input], enqueueContext(env, registry, session));
        if (!enqueued) throw new Error("the producer answered no job");
        debounced = enqueued.debounced === true;
        return wireJob(enqueued.row);
      });
      return answer.ok && debounced ? { ...answer, debounced: true } : answer;
    }

    /** Like POST /v1/jobs/batch: 1…100 jobs, validated all or nothing. */
    enqueueBatch(jobs: EnqueueRequest[]): Promise<Answer<"jobs", Job[]>> {
      return run("enqueueBatch", "jobs", this.ctx.props, this.env, async (session, env) => {
        const input = parse(BatchEnqueueSchema, { jobs });
        const enqueued = await enqueue(input.jobs, enqueueContext(env, registry, session));
        return enqueued.map((e) => wireJob(e.row));
      });
    }

    /** Like GET /v1/jobs/:id, with the attempt log and the workflow's steps. */
    get(id: string): Promise<Answer<"job", JobDetail>> {
      return run("get", "job", this.ctx.props, this.env, async ({ tenant }, env) => {
        const db = openDb(env.DB);
        const jobId = parse(JobIdParam, { id }).id;
        const [row, steps] = await Promise.all([getJob(db, tenant, jobId), readSteps(db, tenant, jobId)]);
        if (!row) throw notFound("job");
        // Step results are stored JSON text, parsed: the cast only names what they are.
        return { ...wireJob(row), attemptLog: attemptLogOf(row), steps: steps as Step[] };
      });
    }

    /** Like GET /v1/jobs: one page, newest first; pass `nextCursor` back as `cursor` for the next. */
    list(query: ListJobsQuery & { cursor?: string } = {}): Promise<Answer<"page", JobPage>> {
      return run("list", "page", this.ctx.props, this.env, async ({ tenant }, env) => {
        const filter = parse(ListJobsQuerySchema, query);
        const rows = await listJobs(openDb(env.DB), tenant, filter);
        const { data, nextCursor } = jobPage(rows, filter.limit);
        return { data: data as Job[], nextCursor };
      });
    }

    /** Like POST /v1/jobs/:id/cancel: scheduled, queued, retrying or waiting jobs (with a workflow's children); else `conflict`. */
    cancel(id: string): Promise<Answer<"job", Job>> {
      return run("cancel", "job", this.ctx.props, this.env, async ({ tenant, log }, env) => {
        const db = openDb(env.DB);
        const jobId = parse(JobIdParam, { id }).id;
        const queue = jobQueueOf(env);
        const row = await cancelJobCascade({ db, queue, log }, tenant, jobId, Date.now());
        if (!row) return refuse(db, tenant, jobId, "cancel");
        log.info("job cancelled", { jobId, type: row.type, status: "cancelled" });
        return wireJob(row);
      });
    }

    /** Like POST /v1/jobs/:id/retry: dead or cancelled jobs go back to the queue, attempts reset. */
    retry(id: string): Promise<Answer<"job", Job>> {
      return run("retry", "job", this.ctx.props, this.env, async ({ tenant, log }, env) => {
        const db = openDb(env.DB);
        const jobId = parse(JobIdParam, { id }).id;
        const queue = jobQueueOf(env);
        const [row] = await requeueByHand({ db, queue, tenant, log }, [jobId]);
        if (!row) return refuse(db, tenant, jobId, "retry");
        return wireJob(row);
      });
    }

    /** Like POST /v1/events: completes the tenant's matching waitForEvent waits (now or within 60 s) and wakes their jobs. */
    sendEvent(event: SendEventRequest): Promise<Answer<"event", SentEvent>> {
      return run("sendEvent", "event", this.ctx.props, this.env, async ({ tenant, log }, env) =>
        sendEvent(parse(SendEventSchema, event), eventDepsOf(env, { tenant, log })),
      );
    }

    /** Like GET /v1/job-types: every registered type, its payload's JSON Schema and whether it is paused. */
    jobTypes(): Promise<Answer<"types", JobType[]>> {
      return run("jobTypes", "types", this.ctx.props, this.env, async ({ tenant }, env) =>
        (await listJobTypes({ d1: env.DB, registry, tenant })).map(wireType),
      );
    }

    /** Like POST /v1/job-types/:type/pause: its jobs are accepted and wait, queued, until resumed; `not_found` for an unknown type. */
    pauseJobType(type: string): Promise<Answer<"type", JobType>> {
      return run("pauseJobType", "type", this.ctx.props, this.env, async (session, env) =>
        wireType(await pauseJobType(jobTypeDeps(env, registry, session), parse(JobTypeParam, { type }).type)),
      );
    }

    /** Like POST /v1/job-types/:type/resume: the held jobs are sent again. */
    resumeJobType(type: string): Promise<Answer<"type", JobType>> {
      return run("resumeJobType", "type", this.ctx.props, this.env, async (session, env) => {
        const resumed = await resumeJobType(jobTypeDeps(env, registry, session), parse(JobTypeParam, { type }).type);
        const { released: _released, ...entry } = resumed;
        return wireType(entry);
      });
    }

    /** Like POST /v1/batches: 1…100 jobs, validated all or nothing; the batch with the jobs it created. */
    createBatch(batch: CreateBatchRequest): Promise<Answer<"batch", BatchWithJobs>> {
      return run("createBatch", "batch", this.ctx.props, this.env, async (session, env) =>
        wireBatch(await createBatch(enqueueContext(env, registry, session), parse(CreateBatchSchema, batch))),
      );
    }

    /** Like POST /v1/batches/:id/jobs: adds jobs while the batch is open, else `conflict`. */
    addToBatch(id: string, jobs: EnqueueRequest[]): Promise<Answer<"batch", BatchWithJobs>> {
      return run("addToBatch", "batch", this.ctx.props, this.env, async (session, env) => {
        const batchId = parse(BatchIdParam, { id }).id;
        const input = parse(AddBatchJobsSchema, { jobs });
        return wireBatch(await addBatchJobs(enqueueContext(env, registry, session), batchId, input.jobs));
      });
    }

    /** Like POST /v1/batches/:id/close: no more jobs; it finishes when its last job does. */
    closeBatch(id: string): Promise<Answer<"batch", Batch>> {
      return run("closeBatch", "batch", this.ctx.props, this.env, async (session, env) =>
        wireBatch(await closeBatch(enqueueContext(env, registry, session), parse(BatchIdParam, { id }).id)),
      );
    }

    /** Like POST /v1/batches/:id/cancel: cancels every job of the batch that has not started. */
    cancelBatch(id: string): Promise<Answer<"batch", Batch>> {
      return run("cancelBatch", "batch", this.ctx.props, this.env, async (session, env) =>
        wireBatch(await cancelBatch(enqueueContext(env, registry, session), parse(BatchIdParam, { id }).id)),
      );
    }

    /** Like GET /v1/batches/:id. */
    getBatch(id: string): Promise<Answer<"batch", Batch>> {
      return run("getBatch", "batch", this.ctx.props, this.env, async ({ tenant }, env) => {
        const batch = await getBatch(openDb(env.DB), tenant, parse(BatchIdParam, { id }).id);
        if (!batch) throw notFound("batch");
        return wireBatch(batch);
      });
    }

    /** Like GET /v1/batches: one page, newest first. */
    listBatches(query: ListBatchesQuery & { cursor?: string } = {}): Promise<Answer<"page", BatchPage>> {
      return run("listBatches", "page", this.ctx.props, this.env, async ({ tenant }, env) => {
        const page = await listBatches(openDb(env.DB), tenant, parse(ListBatchesQuerySchema, query));
        return { data: page.data.map(wireBatch), nextCursor: page.nextCursor };
      });
    }
  };
}
