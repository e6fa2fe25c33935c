// Wraps a Durable Object's SQL storage so a statement production would refuse throws (100 bound parameters, 100 KB).
import type { PlatformLimits } from "./platform-limits";
import { limitBroken } from "./violations";

export function guardSqlStorage(sql: SqlStorage, limits: PlatformLimits): SqlStorage {
  return new Proxy(sql, {
    get(target, prop) {
      if (prop === "exec")
        return (query: string, ...bindings: unknown[]) => {
          const size = new TextEncoder().encode(query).byteLength;
          if (size > limits.statementBytes) {
            throw limitBroken(
              `Durable Object SQL statement of ${size} bytes; production allows ${limits.statementBytes}`,
            );
          }
          if (bindings.length > limits.boundParameters) {
            throw limitBroken(
              `Durable Object SQL statement binds ${bindings.length} parameters; production allows ${limits.boundParameters}`,
            );
          }
          return target.exec(query, ...bindings);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
