// The engine's ctx.step wiring: job_steps in D1 as the step store, and child jobs built like an enqueue.
import { EnqueueSchema } from "../contract/schemas";
import type { JobRegistry } from "../core/define-job";
import { PayloadValidationError } from "../core/enqueue-errors";
import type { Logger } from "../core/logger";
import type { InvokeOptions } from "../core/steps";
import { openDb } from "../db/client";
import { storedJobRow } from "../db/job-insert";
import type { JobRow } from "../db/schema";
import { completeSleepStep, loadSteps, saveRunStep, timeOutEventStep } from "../db/step-statements";
import { buildJobRow } from "../service/enqueue";
import type { StepStore } from "./step-runner";

export function d1StepStore(d1: D1Database, tenant: string, jobId: string): StepStore {
  return {
    load: () => loadSteps(d1, tenant, jobId),
    saveRun: (name, result, startedAt, finishedAt) =>
      saveRunStep(d1, { tenant, jobId, name }, result, startedAt, finishedAt),
    completeSleep: (name, now) => completeSleepStep(d1, tenant, jobId, name, now),
    timeOutEvent: (name, now) => timeOutEventStep(d1, tenant, jobId, name, now),
  };
}

/** What building a child needs, beside the parent: the registry and the enqueue limits of this deployment. */
export type ChildContext = {
  d1: D1Database;
  queue: Queue<never>;
  registry: JobRegistry;
  payloadLimitBytes: number;
  allowPrivateTargets: boolean;
  lanes: readonly string[];
  log: Logger;
};

/** Fields a child cannot set: it starts now, it is its own row (its parent waits on its id), its parent's step makes it unique. */
const NOT_FOR_CHILDREN = ["idempotencyKey", "idempotencyTtlSeconds", "delaySeconds", "runAt", "debounce"] as const;

/**
 * A child's row, validated like an enqueue (EnqueueSchema, then the job type's payload schema and the target
 * guard); throws the enqueue's refusal, which the step runner turns into a StepRuleError.
 */
export function childBuilder(ctx: ChildContext, parent: { tenant: string; id: string }, now: () => number) {
  return (options: InvokeOptions): JobRow => {
    for (const field of NOT_FOR_CHILDREN) {
      if (options && field in options) throw new Error(`a child job takes no ${field}`);
    }
    const parsed = EnqueueSchema.safeParse(options);
    if (!parsed.success) {
      throw new Error(
        `invalid child job: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    }
    const row = describeRefusal(() =>
      buildJobRow(parsed.data, {
        db: openDb(ctx.d1),
        queue: ctx.queue,
        registry: ctx.registry,
        tenant: parent.tenant,
        now: now(),
        payloadLimitBytes: ctx.payloadLimitBytes,
        allowPrivateTargets: ctx.allowPrivateTargets,
        lanes: ctx.lanes,
        log: ctx.log,
      }),
    );
    return storedJobRow({ ...row, parentId: parent.id });
  };
}

/** An enqueue refusal with its issues in the message (a step error carries no details field). */
function describeRefusal<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof PayloadValidationError && err.issues.length > 0) {
      throw new Error(`${err.message}: ${err.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
    }
    throw err;
  }
}
