// Structured logs: one JSON object per line, with the job's correlation fields on every line.

export type LogFields = Record<string, unknown>;
export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
};

const LEVELS = { info: 0, warn: 1, error: 2 } as const;
export type LogLevel = keyof typeof LEVELS;
let minimum: number = LEVELS.info;

/** Set per invocation from the LOG_LEVEL var: "warn" keeps only warnings and errors. */
export function setLogLevel(level: string | undefined): void {
  minimum = LEVELS[(level ?? "info") as LogLevel] ?? LEVELS.info;
}

export function createLogger(base: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[level] < minimum) return;
    const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...base, ...fields });
    if (level === "error") console.error(line);
    else console.log(line);
  };
  return {
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

export const log = createLogger();
