// Structured logs: one JSON object per line, with the job's correlation fields on every line.
import { SYSTEM_LOG_FIELDS } from "../contract/log-fields";

export type LogFields = Record<string, unknown>;
export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields`; identity fields already set (see PINNED_FIELDS) keep their value. */
  child(fields: LogFields): Logger;
  /**
   * A logger whose lines also carry a job's user-supplied metadata, on the lowest layer: any field the
   * code writes wins over it, and a metadata key named like a system field is written as `metadata.<key>`.
   */
  withMetadata(metadata: Record<string, string>): Logger;
};

export { SYSTEM_LOG_FIELDS };

const SYSTEM = new Set<string>(SYSTEM_LOG_FIELDS);

/** Once a child logger names one of these, later children and per-line fields cannot change it. */
const PINNED_FIELDS = new Set(["jobId", "tenant", "type", "attempt", "requestId"]);

/** The prefix a metadata key gets when it is named like a system field. */
export const METADATA_PREFIX = "metadata.";

const LEVELS = { info: 0, warn: 1, error: 2 } as const;
export type LogLevel = keyof typeof LEVELS;
let minimum: number = LEVELS.info;

/** Set per invocation from the LOG_LEVEL var: "warn" keeps only warnings and errors. */
export function setLogLevel(level: string | undefined): void {
  minimum = LEVELS[(level ?? "info") as LogLevel] ?? LEVELS.info;
}

/** Metadata as it may appear in a line: keys named like system fields get the `metadata.` prefix. */
export function safeMetadata(metadata: Record<string, string>): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(metadata)) {
    out[SYSTEM.has(key) || key.startsWith(METADATA_PREFIX) ? `${METADATA_PREFIX}${key}` : key] = value;
  }
  return out;
}

/** `extra` laid over `base`, except that pinned fields already in `base` keep their value. */
function layer(base: LogFields, extra: LogFields | undefined): LogFields {
  if (!extra) return base;
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (PINNED_FIELDS.has(key) && key in base && base[key] !== value) continue;
    out[key] = value;
  }
  return out;
}

/**
 * A plain class, not an object of closures: a request makes two children and a job up to two, and five
 * closures per logger were measurable CPU on the hot path. Callers only ever call its methods on it.
 */
class FieldLogger implements Logger {
  constructor(
    private readonly base: LogFields,
    private readonly metadata: LogFields,
  ) {}

  info(msg: string, fields?: LogFields): void {
    if (minimum <= LEVELS.info) this.write("info", msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (minimum <= LEVELS.warn) this.write("warn", msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.write("error", msg, fields);
  }

  child(fields: LogFields): Logger {
    return new FieldLogger(layer(this.base, fields), this.metadata);
  }

  withMetadata(more: Record<string, string>): Logger {
    return new FieldLogger(this.base, { ...this.metadata, ...safeMetadata(more) });
  }

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    // The logger's own fields are dropped from what callers pass, so nothing can change a line's level, message or time.
    const { level: _l, msg: _m, time: _t, ...rest } = { ...this.metadata, ...layer(this.base, fields) };
    const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...rest });
    if (level === "error") console.error(line);
    else console.log(line);
  }
}

export function createLogger(base: LogFields = {}, metadata: LogFields = {}): Logger {
  return new FieldLogger(base, metadata);
}

/** Whether info lines are written in this invocation (so a caller can skip building an info line's fields). */
export const infoLogged = (): boolean => minimum <= LEVELS.info;

export const log = createLogger();
