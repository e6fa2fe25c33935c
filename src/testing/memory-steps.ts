// ctx.step for runJob: the step rules of the engine over memory; sleeps end at once, events and children are given.
import { ChildJobFailedError, STEP_NAME, type StepApi, StepRuleError } from "../core/steps";
import type { StepSession } from "../engine/attempt";
import { stepResultJson } from "../engine/step-runner";

/**
 * How runJob's in-memory ctx.step answers (nothing touches D1 or the queue):
 * - `run` runs fn and stores its JSON result in `store` (pass the same Map to a second runJob to see a re-run skip it);
 * - `sleep` / `sleepUntil` return at once (the wait is the engine's business, not the handler's);
 * - `waitForEvent` returns `events[event]` (the event's data), or null as on a timeout;
 * - `invoke` returns `children[type](payload)`; a child that throws makes it throw ChildJobFailedError (status dead).
 * The rules are the engine's: a name used twice in one run or a result over MAX_STEP_RESULT_BYTES fails with StepRuleError.
 */
export type MemoryStepOptions = {
  store?: Map<string, string>;
  events?: Record<string, unknown>;
  children?: Record<string, (payload: unknown) => unknown>;
};

export function memorySteps(options: MemoryStepOptions = {}): StepSession {
  const store = options.store ?? new Map<string, string>();
  const used = new Set<string>();
  const session: { api: StepApi; broken: StepRuleError | undefined } = { api: undefined as never, broken: undefined };
  const guard = <T>(name: string, body: () => Promise<T>): Promise<T> => {
    try {
      if (typeof name !== "string" || !STEP_NAME.test(name))
        throw new StepRuleError(`step name ${JSON.stringify(name)} must match ${STEP_NAME}`);
      if (used.has(name)) throw new StepRuleError(`step name "${name}" is used twice in this job`);
      used.add(name);
    } catch (err) {
      session.broken ??= err as StepRuleError;
      return Promise.reject(err);
    }
    return body().catch((err: unknown) => {
      if (err instanceof StepRuleError) session.broken ??= err;
      throw err;
    });
  };
  const memo = async <T>(name: string, value: () => Promise<unknown>): Promise<T> => {
    const stored = store.get(name);
    if (stored !== undefined) return JSON.parse(stored) as T;
    const text = stepResultJson(name, await value());
    store.set(name, text);
    return JSON.parse(text) as T;
  };
  session.api = {
    run: (name, fn) => guard(name, () => memo(name, async () => fn())),
    sleep: (name) => guard(name, () => memo(name, async () => null)).then(() => undefined),
    sleepUntil: (name) => guard(name, () => memo(name, async () => null)).then(() => undefined),
    waitForEvent: (name, wait) => guard(name, () => memo(name, async () => options.events?.[wait.event] ?? null)),
    invoke: (name, child) =>
      guard(name, () =>
        memo(name, async () => {
          const run = options.children?.[child.type];
          if (!run) throw new Error(`runJob: no child handler given for type "${child.type}" (options.steps.children)`);
          try {
            return await run(child.payload ?? {});
          } catch (err) {
            const error =
              err instanceof Error ? { message: err.message, name: err.name } : { message: String(err), name: "Error" };
            throw new ChildJobFailedError(`child job of step "${name}" is dead: ${error.message}`, "", "dead", error);
          }
        }),
      ),
  };
  return session;
}
