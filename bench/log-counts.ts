// Reads the Worker's "invocation" log lines (src/metering/invocation.ts) and turns them into operations per job.
import type { Counts } from "./cost-model.ts";

export type Invocation = {
  msg: string;
  handler: string;
  method?: string;
  path?: string;
  durationMs: number;
  d1Statements?: number;
  d1RowsWritten: number;
  d1RowsRead: number;
  doRequests: number;
  delivered?: number;
  retried?: number;
};

/** A pruned job costs one more row (a delete writes 1 row in D1), paid days later by the tick. */
export const PRUNE_ROWS_PER_JOB = 1;

export function summarizeLogs(output: string, jobs: number): Counts {
  const lines = output
    .split("\n")
    .filter((line) => line.includes('"msg":"invocation"'))
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))) as Invocation)
    // The benchmark's own polling (GET) is not part of what a job costs.
    .filter((inv) => !(inv.handler === "fetch" && inv.method === "GET"));
  const sum = (pick: (inv: Invocation) => number) => lines.reduce((total, inv) => total + pick(inv), 0);
  const delivered = sum((inv) => inv.delivered ?? 0);
  const retried = sum((inv) => inv.retried ?? 0);
  const per = (n: number) => Number((n / jobs).toFixed(3));
  return {
    jobs,
    workerRequestsPerJob: per(lines.length),
    // Wall time bounds CPU time from above: waits on D1 and the network are not billed as CPU.
    cpuMsPerJob: per(sum((inv) => inv.durationMs)),
    d1RowsWrittenPerJob: per(sum((inv) => inv.d1RowsWritten) + PRUNE_ROWS_PER_JOB * jobs),
    d1RowsReadPerJob: per(sum((inv) => inv.d1RowsRead)),
    queueOperationsPerJob: per(3 * delivered - 2 * retried),
    doRequestsPerJob: per(sum((inv) => inv.doRequests)),
  };
}
