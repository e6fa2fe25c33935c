// Wraps a D1 binding so any statement production would refuse throws: too many bound parameters, too long, too many queries.
import type { InvocationBudget } from "./budget";
import { limitBroken } from "./violations";

const bytes = (text: string) => new TextEncoder().encode(text).byteLength;
const preview = (sql: string) => sql.replace(/\s+/g, " ").trim().slice(0, 80);

/** The highest `?NNN` a statement names: D1 refuses one past its parameter limit even when fewer are bound. */
function highestNumberedParameter(sql: string): number {
  let highest = 0;
  for (const match of sql.matchAll(/\?(\d+)/g)) highest = Math.max(highest, Number(match[1]));
  return highest;
}

function checkStatement(sql: string, budget: InvocationBudget): void {
  const { boundParameters, statementBytes } = budget.limits;
  const size = bytes(sql);
  if (size > statementBytes) {
    throw limitBroken(`D1 statement of ${size} bytes; production allows ${statementBytes} ("${preview(sql)}…")`);
  }
  const numbered = highestNumberedParameter(sql);
  if (numbered > boundParameters) {
    throw limitBroken(`D1 statement names ?${numbered}; production allows ${boundParameters} ("${preview(sql)}…")`);
  }
}

function checkBound(count: number, sql: string, budget: InvocationBudget): void {
  const { boundParameters } = budget.limits;
  if (count > boundParameters) {
    throw limitBroken(
      `D1 statement binds ${count} parameters; production allows ${boundParameters} ("${preview(sql)}…")`,
    );
  }
}

/** Statements of an exec() string: D1 runs (and counts) each one. */
const execStatements = (sql: string) =>
  sql
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);

export function guardD1(d1: D1Database, budget: InvocationBudget): D1Database {
  // D1's batch() reads the real statements' internals, so guarded statements are unwrapped before it sees them.
  const originals = new WeakMap<object, D1PreparedStatement>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind")
          return (...args: unknown[]) => {
            checkBound(args.length, sql, budget);
            return wrap(target.bind(...args), sql);
          };
        if (prop === "run" || prop === "all" || prop === "first" || prop === "raw")
          return (...args: unknown[]) => {
            budget.queries(1, preview(sql));
            return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    originals.set(wrapped, stmt);
    return wrapped;
  };
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => {
          checkStatement(sql, budget);
          return wrap(target.prepare(sql), sql);
        };
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => {
          budget.queries(statements.length, `batch of ${statements.length}`);
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      if (prop === "exec")
        return (sql: string) => {
          const parts = execStatements(sql);
          for (const part of parts) checkStatement(part, budget);
          budget.queries(parts.length, `exec of ${parts.length}`);
          return target.exec(sql);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
