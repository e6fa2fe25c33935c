// Counts what D1 reports for each statement (meta.rows_written / rows_read): rows written are our main cost.
export type D1Usage = { rowsWritten: number; rowsRead: number; statements: number; unmeteredWrites: number };

const WRITE = /^\s*(insert|update|delete|replace)\b/i;

/**
 * A statement that reports to its invocation's usage. A plain class, not a Proxy: the hot path binds
 * one per job, and a Proxy's traps (and the bound functions they hand out) cost on every access.
 */
class MeteredStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly sql: string,
    private readonly usage: D1Usage,
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return new MeteredStatement(this.inner.bind(...values), this.sql, this.usage) as unknown as D1PreparedStatement;
  }

  async run<T>(): Promise<D1Result<T>> {
    this.usage.statements++;
    const result = await this.inner.run<T>();
    addResult(this.usage, result);
    return result;
  }

  async all<T>(): Promise<D1Result<T>> {
    this.usage.statements++;
    const result = await this.inner.all<T>();
    addResult(this.usage, result);
    return result;
  }

  // raw() and first() do not report meta, so a write through them is counted as unmetered.
  raw(options?: { columnNames?: boolean }): Promise<unknown> {
    this.countUnmetered();
    return this.inner.raw(options as { columnNames?: false });
  }

  first(column?: string): Promise<unknown> {
    this.countUnmetered();
    return column === undefined ? this.inner.first() : this.inner.first(column);
  }

  private countUnmetered() {
    this.usage.statements++;
    if (WRITE.test(this.sql)) this.usage.unmeteredWrites++;
  }
}

function addResult(usage: D1Usage, result: D1Result) {
  usage.rowsWritten += result.meta?.rows_written ?? 0;
  usage.rowsRead += result.meta?.rows_read ?? 0;
}

/**
 * Wraps a D1 binding for one invocation. run(), all() and batch() report meta; raw() and first() do not,
 * so a write through them is counted in `unmeteredWrites` (the data layer sends writes through batch()).
 */
export function meterD1(
  d1: D1Database,
  usage: D1Usage = { rowsWritten: 0, rowsRead: 0, statements: 0, unmeteredWrites: 0 },
): { d1: D1Database; usage: D1Usage } {
  const metered = new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => new MeteredStatement(target.prepare(sql), sql, usage) as unknown as D1PreparedStatement;
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          usage.statements += statements.length;
          // D1's batch() reads the real statements' internals, so wrapped ones are unwrapped first.
          const results = await target.batch(
            statements.map((s) => (s instanceof MeteredStatement ? s.inner : s) as D1PreparedStatement),
          );
          for (const result of results) addResult(usage, result);
          return results;
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1: metered, usage };
}
