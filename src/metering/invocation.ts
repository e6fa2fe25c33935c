// Runs one Worker invocation on metered bindings and logs what it used, so any workload's bill can be
// read off the logs (bench/ sums these lines): D1 rows, queue message outcomes, Durable Object requests.
import { configOf } from "../core/config";
import { log, setLogLevel } from "../core/logger";
import { withPlatformLimits } from "../limits";
import { meterD1 } from "./d1";
import { meterNamespace } from "./durable-objects";
import { type QueueUsage, skipQueueMeter } from "./queue";

/** The logger's rule (src/core/logger.ts): any level but warn and error writes info lines. */
const logsInfo = (level: string | undefined) => level !== "warn" && level !== "error";

export async function metered<T>(
  label: Record<string, string>,
  env: Env,
  run: (env: Env) => Promise<T>,
  queueUsage?: QueueUsage,
): Promise<T> {
  const { logLevel } = configOf(env);
  setLogLevel(logLevel);
  // Innermost: the limits harness (off in production) sees every call the handler and the meters make.
  const limited = withPlatformLimits(env);
  // The meters only feed the "invocation" info line: where it is not written, no binding is wrapped.
  if (!logsInfo(logLevel)) {
    if (queueUsage) skipQueueMeter(queueUsage);
    return run(limited);
  }
  const d1 = meterD1(limited.DB);
  const gates = meterNamespace(limited.KEY_GATE);
  const meteredEnv: Record<string, unknown> = { ...limited, DB: d1.d1, KEY_GATE: gates.namespace };
  // Every shard's database reports to the same usage: the line is the invocation's whole D1 bill.
  for (const shard of configOf(env).shards) {
    const db = (limited as unknown as Record<string, D1Database | undefined>)[shard];
    if (shard !== "DB" && db) meteredEnv[shard] = meterD1(db, d1.usage).d1;
  }
  const started = Date.now();
  try {
    return await run(meteredEnv as unknown as Env);
  } finally {
    log.info("invocation", {
      ...label,
      durationMs: Date.now() - started,
      d1RowsWritten: d1.usage.rowsWritten,
      d1RowsRead: d1.usage.rowsRead,
      d1Statements: d1.usage.statements,
      doRequests: gates.usage.requests,
      ...(queueUsage ?? {}),
    });
  }
}
