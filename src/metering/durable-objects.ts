// Counts calls made through a Durable Object namespace's stubs: each RPC call is one billed DO request.
export type DurableObjectUsage = { requests: number };

export function meterNamespace<T extends object>(namespace: T): { namespace: T; usage: DurableObjectUsage } {
  const usage: DurableObjectUsage = { requests: 0 };
  const wrapStub = (stub: object) =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== "function" || prop === "then") return value;
        return (...args: unknown[]) => {
          usage.requests++;
          // Reflect.apply: an RPC method stub would treat `.apply` as a remote method name.
          return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
        };
      },
    });
  const wrapped = new Proxy(namespace, {
    get(target, prop) {
      if (prop === "get" || prop === "getByName")
        return (...args: unknown[]) =>
          wrapStub(Reflect.apply(Reflect.get(target, prop) as (...a: unknown[]) => object, target, args));
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { namespace: wrapped, usage };
}
