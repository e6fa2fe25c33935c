// The typed HTTP client: fetch only, so it runs in Workers, Node and browsers alike.
import createClient from "openapi-fetch";
import { toJobsApiError } from "./errors";
import type { paths } from "./openapi-types";
import type {
  Batch,
  BatchPage,
  BatchWithJobs,
  CreateBatchRequest,
  CreateScheduleRequest,
  DeadRetryRequest,
  EnqueueRequest,
  FlowStatus,
  Job,
  JobDetail,
  JobPage,
  JobType,
  ListBatchesQuery,
  ListDeadQuery,
  ListJobsQuery,
  ListSchedulesQuery,
  Metrics,
  Schedule,
  SchedulePage,
  SendEventRequest,
  SentEvent,
  UpdateScheduleRequest,
  WebhookSecret,
} from "./types";

export type JobsClientOptions = {
  /** Where Edge Jobs answers, e.g. https://edge-jobs.example.workers.dev */
  baseUrl: string;
  /** A tenant API key (or the admin token, for the key routes only). */
  apiKey: string;
  /** Another fetch: a service binding's `fetch`, a test double of the network, a polyfill. */
  fetch?: (request: Request) => Promise<Response>;
  /** Sent with every request. */
  headers?: Record<string, string>;
};

export type EnqueueOptions = {
  /** Sent as the `Idempotency-Key` header: a repeat within its TTL answers the original job. */
  idempotencyKey?: string;
};

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or the contract's error as a JobsApiError. */
async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw toJobsApiError(response, error);
  return data as T;
}

/** Follows `nextCursor` page after page, yielding one item at a time. */
async function* everyItem<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ data: T[]; nextCursor: string | null }>,
) {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.data;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

export function createJobsClient(options: JobsClientOptions) {
  const http = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers: { ...options.headers, authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const byId = (id: string) => ({ params: { path: { id } } });

  const jobPage = (query: ListJobsQuery & { cursor?: string }): Promise<JobPage> =>
    unwrap(http.GET("/v1/jobs", { params: { query } }));
  const deadPage = (query: ListDeadQuery & { cursor?: string }): Promise<JobPage> =>
    unwrap(http.GET("/v1/dead", { params: { query } }));
  const schedulePage = (query: ListSchedulesQuery & { cursor?: string }): Promise<SchedulePage> =>
    unwrap(http.GET("/v1/schedules", { params: { query } }));
  const batchPage = (query: ListBatchesQuery & { cursor?: string }): Promise<BatchPage> =>
    unwrap(http.GET("/v1/batches", { params: { query } }));
  const byType = (type: string) => ({ params: { path: { type } } });

  return {
    /** 202 with the new job, or the original job when the idempotency key was seen within its TTL. */
    enqueue(job: EnqueueRequest, opts: EnqueueOptions = {}): Promise<Job> {
      const header = opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {};
      return unwrap(http.POST("/v1/jobs", { body: job, params: { header } }));
    },
    /** 1…100 jobs, all or nothing. */
    async enqueueBatch(jobs: EnqueueRequest[]): Promise<Job[]> {
      return (await unwrap(http.POST("/v1/jobs/batch", { body: { jobs } }))).jobs;
    },
    get: (id: string): Promise<JobDetail> => unwrap(http.GET("/v1/jobs/{id}", byId(id))),
    /** Every matching job, newest first, fetched a page (`limit`) at a time: `for await (const job of …)`. */
    list: (query: ListJobsQuery = {}) => everyItem((cursor) => jobPage({ ...query, cursor })),
    /** One page; pass the previous page's `nextCursor` to go on. */
    listPage: jobPage,
    cancel: (id: string): Promise<Job> => unwrap(http.POST("/v1/jobs/{id}/cancel", byId(id))),
    retry: (id: string): Promise<Job> => unwrap(http.POST("/v1/jobs/{id}/retry", byId(id))),
    async delete(id: string): Promise<void> {
      await unwrap(http.DELETE("/v1/jobs/{id}", byId(id)));
    },

    dead: {
      list: (query: ListDeadQuery = {}) => everyItem((cursor) => deadPage({ ...query, cursor })),
      listPage: deadPage,
      /** Replays dead jobs by ids, by type, or all of them; at most 100 per call. */
      retry: (request: DeadRetryRequest = {}): Promise<{ retried: number }> =>
        unwrap(http.POST("/v1/dead/retry", { body: request })),
    },

    schedules: {
      create: (schedule: CreateScheduleRequest): Promise<Schedule> =>
        unwrap(http.POST("/v1/schedules", { body: schedule })),
      get: (id: string): Promise<Schedule> => unwrap(http.GET("/v1/schedules/{id}", byId(id))),
      list: (query: ListSchedulesQuery = {}) => everyItem((cursor) => schedulePage({ ...query, cursor })),
      listPage: schedulePage,
      update: (id: string, changes: UpdateScheduleRequest): Promise<Schedule> =>
        unwrap(http.PATCH("/v1/schedules/{id}", { ...byId(id), body: changes })),
      async delete(id: string): Promise<void> {
        await unwrap(http.DELETE("/v1/schedules/{id}", byId(id)));
      },
      /** Enqueues the schedule's job now, outside its cron. */
      run: (id: string): Promise<Job> => unwrap(http.POST("/v1/schedules/{id}/run", byId(id))),
    },

    /**
     * Sends an event: completes every waitForEvent wait of the tenant for its name (and key), now or within 60 s
     * after, and wakes their jobs. `more: true` says the call stopped at its cap; send it again for the rest.
     */
    sendEvent: (event: SendEventRequest): Promise<SentEvent> => unwrap(http.POST("/v1/events", { body: event })),

    /** Every registered job type with its defaults, lane, payload JSON Schema and whether it is paused. */
    jobTypes: async (): Promise<JobType[]> => (await unwrap(http.GET("/v1/job-types"))).data,
    /** The type's jobs are still accepted and wait, queued, until it is resumed; nothing is dropped. */
    pauseJobType: (type: string): Promise<JobType> => unwrap(http.POST("/v1/job-types/{type}/pause", byType(type))),
    resumeJobType: (type: string): Promise<JobType> => unwrap(http.POST("/v1/job-types/{type}/resume", byType(type))),

    batches: {
      /** 1…100 jobs; `open: true` to add more until close. Finishes once every job has finished (closed batches only). */
      create: (batch: CreateBatchRequest): Promise<BatchWithJobs> => unwrap(http.POST("/v1/batches", { body: batch })),
      /** Adds 1…100 jobs while the batch is open (else `conflict`). */
      add: (id: string, jobs: EnqueueRequest[]): Promise<BatchWithJobs> =>
        unwrap(http.POST("/v1/batches/{id}/jobs", { ...byId(id), body: { jobs } })),
      close: (id: string): Promise<Batch> => unwrap(http.POST("/v1/batches/{id}/close", byId(id))),
      /** Cancels every job of the batch that has not started. */
      cancel: (id: string): Promise<Batch> => unwrap(http.POST("/v1/batches/{id}/cancel", byId(id))),
      get: (id: string): Promise<Batch> => unwrap(http.GET("/v1/batches/{id}", byId(id))),
      /** Every matching batch, newest first; its jobs: `list({ batchId })`. */
      list: (query: ListBatchesQuery = {}) => everyItem((cursor) => batchPage({ ...query, cursor })),
      listPage: batchPage,
    },

    flow: (key: string): Promise<FlowStatus> => unwrap(http.GET("/v1/flows/{key}", { params: { path: { key } } })),
    metrics: (): Promise<Metrics> => unwrap(http.GET("/v1/metrics")),
    webhookSecret: {
      get: (): Promise<WebhookSecret> => unwrap(http.GET("/v1/webhook-secret")),
      rotate: (): Promise<WebhookSecret> => unwrap(http.POST("/v1/webhook-secret/rotate")),
    },
  };
}

export type JobsClient = ReturnType<typeof createJobsClient>;
