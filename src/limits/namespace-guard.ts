// Wraps a Durable Object namespace so each call on one of its stubs counts as a subrequest of the invocation.
import type { InvocationBudget } from "./budget";

export function guardNamespace<T extends object>(namespace: T, budget: InvocationBudget): T {
  const wrapStub = (stub: object) =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== "function" || prop === "then") return value;
        return (...args: unknown[]) => {
          budget.subrequests(1, `Durable Object call ${String(prop)}`);
          // Reflect.apply: an RPC method stub would treat `.apply` as a remote method name.
          return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
        };
      },
    });
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop === "get" || prop === "getByName")
        return (...args: unknown[]) =>
          wrapStub(Reflect.apply(Reflect.get(target, prop) as (...a: unknown[]) => object, target, args));
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
