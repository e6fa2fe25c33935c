// Cancel by hand (HTTP, RPC, dashboard): the job, its unfinished children, and its parent's invoke step, at once.
import type { JobMessage } from "../contract/job";
import type { Logger } from "../core/logger";
import { cancelChildrenStatement, cancelledRowOf, cancelStatement } from "../db/cancel-statements";
import type { Db } from "../db/client";
import type { JobRow } from "../db/schema";
import { childrenDoneStatements, closeWaitsStatement, wokenOf } from "../db/step-statements";
import { batchProgressForJob } from "./batch-progress";
import { sendMessages } from "./enqueue";

export type CancelDeps = { db: Db; queue: Queue<JobMessage>; log: Logger };

const d1Of = (db: Db): D1Database => (db as Db & { $client: D1Database }).$client;

/**
 * Cancels a job that is scheduled, queued, retrying or waiting. In the same transaction: its children that are not
 * running or finished are cancelled too (a cancelled workflow starts nothing more), and, when the job is itself a
 * child, its parent's invoke step fails (ChildJobFailedError, childStatus "cancelled") and the parent wakes if that
 * was the last child it waited on. Answers the cancelled row, or undefined when the job was not cancellable.
 */
export async function cancelJobCascade(
  deps: CancelDeps,
  tenant: string,
  id: string,
  now: number,
): Promise<JobRow | undefined> {
  const d1 = d1Of(deps.db);
  // The parent's step and wake are conditional on this row being cancelled at `now` (CHILD_STEPS_DONE joins on it).
  const done = childrenDoneStatements(d1, [{ tenant, id, status: "cancelled", finishedAt: now }], now);
  const statements = [cancelStatement(d1, tenant, id, now), cancelChildrenStatement(d1, tenant, id, now)];
  if (done) statements.push(done.steps, done.wake);
  // Its own open waits close, so a later event or child does not complete a step nobody will read.
  statements.push(closeWaitsStatement(d1, tenant, id, now));
  // The job's batch (if any) recounts in the same transaction.
  const progress = batchProgressForJob(d1, tenant, id, now);
  statements.push(...progress.statements);
  const results = await d1.batch(statements);
  const [cancelled, children, , woken] = results;
  const row = cancelledRowOf(cancelled);
  if (!row) return undefined;
  await progress.afterCommit(results.slice(results.length - progress.statements.length), deps.queue, deps.log);
  const childCount = children?.results?.length ?? 0;
  if (childCount > 0) deps.log.info("children cancelled with their parent", { jobId: id, tenant, count: childCount });
  const parents = wokenOf(woken);
  if (parents.length > 0) await sendMessages(deps.queue, parents, now, deps.log);
  return row;
}
