// Counts what D1 reports for each statement (meta.rows_written / rows_read): rows written are our main cost.
export type D1Usage = { rowsWritten: number; rowsRead: number; statements: number; unmeteredWrites: number };

const WRITE = /^\s*(insert|update|delete|replace)\b/i;

/**
 * Wraps a D1 binding for one invocation. run(), all() and batch() report meta; raw() and first() do not,
 * so a write through them is counted in `unmeteredWrites` (the data layer sends writes through batch()).
 */
export function meterD1(d1: D1Database): { d1: D1Database; usage: D1Usage } {
  const usage: D1Usage = { rowsWritten: 0, rowsRead: 0, statements: 0, unmeteredWrites: 0 };
  const add = (results: D1Result[]) => {
    for (const r of results) {
      usage.rowsWritten += r.meta?.rows_written ?? 0;
      usage.rowsRead += r.meta?.rows_read ?? 0;
    }
  };
  // D1's batch() reads the real statements' internals, so wrapped statements are unwrapped before it sees them.
  const originals = new WeakMap<object, D1PreparedStatement>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args), sql);
        if (prop === "run" || prop === "all")
          return async () => {
            usage.statements++;
            const result = prop === "run" ? await target.run() : await target.all();
            add([result]);
            return result;
          };
        if (prop === "raw" || prop === "first")
          return (...args: unknown[]) => {
            usage.statements++;
            if (WRITE.test(sql)) usage.unmeteredWrites++;
            return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    originals.set(wrapped, stmt);
    return wrapped;
  };
  const metered = new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          usage.statements += statements.length;
          const results = await target.batch(statements.map((s) => originals.get(s) ?? s));
          add(results);
          return results;
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1: metered, usage };
}
