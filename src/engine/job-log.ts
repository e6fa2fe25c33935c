// A job's logger, built on first use: at LOG_LEVEL=warn most jobs write no line, and a child logger per job is real CPU.
import { configOf } from "../core/config";
import { type LogFields, type Logger, log as rootLog } from "../core/logger";
import type { JobRow } from "../db/schema";

/**
 * Whether info lines are written in this invocation. The logger's level is set per invocation from the
 * LOG_LEVEL var (src/metering/invocation.ts): "warn" and "error" drop info lines, anything else keeps them.
 */
export const infoLinesOn = (env: Env) => {
  const { logLevel } = configOf(env);
  return logLevel !== "warn" && logLevel !== "error";
};

/**
 * The logger of one attempt of `row` (correlation fields + the job's metadata), the same lines as
 * `log.child(...).withMetadata(...)`; the child is built (and the metadata parsed) only when a line is
 * written or the handler asks for a child. With `infoOn` false an info line builds nothing.
 */
export function jobLog(row: JobRow, attempt: number, infoOn: boolean): Logger {
  return new LazyJobLog(row, attempt, infoOn);
}

/** One object per job (a class, not five closures: this is made for every job of every batch). */
class LazyJobLog implements Logger {
  private built: Logger | undefined;

  constructor(
    private readonly row: JobRow,
    private readonly attempt: number,
    private readonly infoOn: boolean,
  ) {}

  private real(): Logger {
    this.built ??= rootLog
      .child({ jobId: this.row.id, type: this.row.type, tenant: this.row.tenantId, attempt: this.attempt })
      .withMetadata(JSON.parse(this.row.metadata) as Record<string, string>);
    return this.built;
  }

  info(msg: string, fields?: LogFields): void {
    if (this.infoOn) this.real().info(msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.real().warn(msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.real().error(msg, fields);
  }

  child(fields: LogFields): Logger {
    return this.real().child(fields);
  }

  withMetadata(metadata: Record<string, string>): Logger {
    return this.real().withMetadata(metadata);
  }
}
