// Cloudflare list prices (shared/ARCHITECTURE.md) applied to operations counted per job.
export type Counts = {
  jobs: number;
  workerRequestsPerJob: number;
  cpuMsPerJob: number;
  d1RowsWrittenPerJob: number;
  d1RowsReadPerJob: number;
  queueOperationsPerJob: number;
  doRequestsPerJob: number;
};

export const PRICES = {
  workerRequest: 0.3 / 1e6,
  workerCpuMs: 0.02 / 1e6,
  d1RowWritten: 1.0 / 1e6,
  d1RowRead: 0.001 / 1e6,
  queueOperation: 0.4 / 1e6,
  doRequest: 0.15 / 1e6,
};

/** Dollars per million jobs. */
export function priceOf(c: Counts): number {
  const perJob =
    c.workerRequestsPerJob * PRICES.workerRequest +
    c.cpuMsPerJob * PRICES.workerCpuMs +
    c.d1RowsWrittenPerJob * PRICES.d1RowWritten +
    c.d1RowsReadPerJob * PRICES.d1RowRead +
    c.queueOperationsPerJob * PRICES.queueOperation +
    c.doRequestsPerJob * PRICES.doRequest;
  return Number((perJob * 1e6).toFixed(2));
}
