// defineJob and the registry: how job types written in TypeScript become runnable by the consumer.
import type { z } from "zod";
import type { Backoff, FlowSettings } from "../contract/job";
import { isLaneName } from "./lanes";
import type { Logger } from "./logger";
import type { StepApi } from "./steps";

/** `E` is the Worker's env as the deployment types it (a library user's own Env). */
export type JobContext<E = Env> = {
  jobId: string;
  type: string;
  attempt: number;
  tenant: string;
  env: E;
  /** Fires when the attempt's timeout passes; pass it to fetch() and check it in long loops. */
  signal: AbortSignal;
  log: Logger;
  /** Reports progress (0…100); the last value is saved with the attempt's outcome. */
  progress(percent: number): void;
  /**
   * Durable steps (core/steps.ts): each step's result is stored in D1, so a retry, a crash or a resume re-runs the
   * handler from the top and skips every finished step. A job that never touches it writes nothing more.
   */
  step: StepApi;
};

/** `Type` keeps the type's name as a literal, so payloads can be typed per job type (edge-jobs' JobPayloads). */
export type JobDefinition<
  Schema extends z.ZodType = z.ZodType,
  Result = unknown,
  E = Env,
  Type extends string = string,
> = {
  type: Type;
  input: Schema;
  maxAttempts?: number;
  backoff?: Backoff;
  timeoutSeconds?: number;
  /** The lane its jobs run in when the enqueue names none (default `default`); the deployment must declare it. */
  queue?: string;
  /** Derives flow control from the input when the enqueue names none (e.g. by destination host). */
  flow?: (input: z.infer<Schema>) => FlowSettings | null;
  run(input: z.infer<Schema>, ctx: JobContext<E>): Promise<Result> | Result;
};

const TYPE_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;

export function defineJob<Schema extends z.ZodType, Result, E = Env, const Type extends string = string>(
  definition: JobDefinition<Schema, Result, E, Type>,
): JobDefinition<Schema, Result, E, Type> {
  if (!TYPE_NAME.test(definition.type)) {
    throw new Error(`job type "${definition.type}" must match ${TYPE_NAME}`);
  }
  if (definition.queue !== undefined && !isLaneName(definition.queue)) {
    throw new Error(`job type "${definition.type}": queue "${definition.queue}" is not a lane name`);
  }
  return definition;
}

export type JobRegistry = ReadonlyMap<string, JobDefinition>;

export function createRegistry(definitions: readonly JobDefinition[]): JobRegistry {
  const registry = new Map<string, JobDefinition>();
  for (const definition of definitions) {
    if (registry.has(definition.type)) throw new Error(`job type "${definition.type}" is defined twice`);
    registry.set(definition.type, definition);
  }
  return registry;
}
