// The answer for a job a request just created, built from the values it was made of instead of re-parsing its row.

import type { Job, JobOptions, JobStatus } from "../contract/job";
import { DEFAULT_QUEUE } from "../contract/schemas";
import type { JobRow } from "../db/schema";

/** What the row's JSON columns were serialized from. */
export type JobParts = { payload: unknown; options: JobOptions; metadata: Record<string, string> };

const iso = (ms: number, createdAt: number, created: string) =>
  ms === createdAt ? created : new Date(ms).toISOString();

/**
 * Equal to rowToJob(row) for a row this request inserted (attempts 0, never run, no callback state),
 * given the JSON-born values its columns came from; test/integration/enqueue-hot-path.test.ts holds them together.
 */
export function createdJob(row: JobRow, parts: JobParts): Job {
  const created = new Date(row.createdAt).toISOString();
  return {
    id: row.id,
    type: row.type,
    status: row.status as JobStatus,
    payload: parts.payload,
    result: null,
    error: null,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    progress: row.progress,
    runAt: iso(row.runAt, row.createdAt, created),
    createdAt: created,
    updatedAt: iso(row.updatedAt, row.createdAt, created),
    startedAt: null,
    finishedAt: null,
    idempotencyKey: row.idempotencyKey,
    flow: parts.options.flow ?? null,
    callbackUrl: row.callbackUrl,
    callback: null,
    metadata: parts.metadata,
    queue: row.queue ?? DEFAULT_QUEUE,
    batchId: row.batchId,
    parentId: row.parentId,
    waitingFor: row.waitingFor == null ? null : (JSON.parse(row.waitingFor) as Job["waitingFor"]),
  };
}
