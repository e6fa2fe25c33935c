// Managing jobs that exist, shared by the HTTP routes, RPC and the dashboard: pages of jobs, requeues by hand.
import type { JobMessage, JobStatus } from "../contract/job";
import type { Logger } from "../core/logger";
import { RETRYABLE_BY_HAND } from "../core/state";
import type { Db } from "../db/client";
import { requeueByHandStatement, rowToJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { sendMessages } from "./enqueue";

/** A page of jobs from rows read with limit + 1: the extra row only tells that another page exists. */
export const jobPage = (rows: JobRow[], limit: number) => ({
  data: rows.slice(0, limit).map(rowToJob),
  nextCursor: rows.length > limit ? (rows[limit - 1]?.id ?? null) : null,
});

export type ManageDeps = { db: Db; queue: Queue<JobMessage>; tenant: string; log: Logger };

/** Requeues dead/cancelled jobs by hand: the rows change first, then their messages go out. */
export async function requeueByHand(
  deps: ManageDeps,
  ids: string[],
  from: readonly JobStatus[] = RETRYABLE_BY_HAND,
  now = Date.now(),
): Promise<JobRow[]> {
  if (ids.length === 0) return [];
  const rows = await requeueByHandStatement(deps.db, deps.tenant, ids, now, from);
  await sendMessages(deps.queue, rows, now, deps.log);
  return rows;
}
