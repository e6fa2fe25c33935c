// What one Worker invocation has used of its per-invocation limits (D1 queries, subrequests).
import type { PlatformLimits } from "./platform-limits";
import { limitBroken } from "./violations";

export type InvocationBudget = {
  limits: PlatformLimits;
  /** Counts `n` D1 queries; throws past the plan's limit. */
  queries(n: number, what: string): void;
  /** Counts `n` subrequests; throws past the plan's limit. */
  subrequests(n: number, what: string): void;
  readonly used: { queries: number; subrequests: number };
};

export function invocationBudget(limits: PlatformLimits): InvocationBudget {
  const used = { queries: 0, subrequests: 0 };
  return {
    limits,
    used,
    queries(n, what) {
      used.queries += n;
      if (used.queries > limits.queriesPerInvocation) {
        throw limitBroken(
          `D1 query ${used.queries} in one invocation (${what}); the ${limits.plan} plan allows ${limits.queriesPerInvocation}`,
        );
      }
    },
    subrequests(n, what) {
      used.subrequests += n;
      if (used.subrequests > limits.subrequestsPerInvocation) {
        throw limitBroken(
          `subrequest ${used.subrequests} in one invocation (${what}); the ${limits.plan} plan allows ${limits.subrequestsPerInvocation}`,
        );
      }
    },
  };
}
