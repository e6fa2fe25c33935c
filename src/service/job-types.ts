// Job types as a use case (HTTP, RPC, dashboard, tick): list them with their payload's JSON Schema, pause and
// resume them per tenant, and release the jobs a pause held, a bounded page at a time.

import { z } from "zod";
import { ApiError } from "../contract/errors";
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_SECONDS, type JobMessage } from "../contract/job";
import type { JobTypeEntry } from "../contract/job-types";
import { DEFAULT_QUEUE } from "../contract/schemas";
import type { JobDefinition, JobRegistry } from "../core/define-job";
import { UnknownJobTypeError } from "../core/enqueue-errors";
import { idFloor } from "../core/ids";
import type { Logger } from "../core/logger";
import { RESCUE_WINDOW_MS } from "../core/rescue-window";
import {
  pausedTypesOf,
  pauseStatement,
  type ReleasedRow,
  releasablePairs,
  releasePageStatement,
  unpauseStatement,
} from "../db/paused-types";
import { sendMessages } from "./enqueue";

export type JobTypeDeps = {
  d1: D1Database;
  queue: Queue<JobMessage>;
  registry: JobRegistry;
  tenant: string;
  log: Logger;
  now: number;
};

/**
 * Held jobs let go per statement, and statements per call: a resume answers after at most RELEASE_PAGES pages
 * (1,000 jobs: a few D1 queries and 10 sendBatch calls, inside even the Free plan's 50 per invocation); the tick
 * releases what is left, as many pages per tick.
 */
export const RELEASE_PAGE_SIZE = 500;
export const RELEASE_PAGES = 2;
/** Releasable (tenant, type) pairs one tick looks at, and distinct held pairs its scan may pass on the way. */
const TICK_PAIRS = 20;
const TICK_SCAN_PAIRS = 10_000;

export type ReleaseOptions = { pageSize?: number; pages?: number };

const schemaCache = new WeakMap<JobDefinition, Record<string, unknown> | null>();

/**
 * The payload's JSON Schema, computed once per definition. What validates is the input side (before any
 * transform); a part JSON Schema cannot say (a date, a custom check) is left open ({}), and a schema zod cannot
 * convert at all (a zod 3 schema, say) answers null rather than failing the whole list.
 */
export function inputSchemaOf(definition: JobDefinition): Record<string, unknown> | null {
  if (schemaCache.has(definition)) return schemaCache.get(definition) ?? null;
  let schema: Record<string, unknown> | null;
  try {
    schema = z.toJSONSchema(definition.input, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  } catch {
    schema = null;
  }
  schemaCache.set(definition, schema);
  return schema;
}

const entryOf = (definition: JobDefinition, paused: boolean): JobTypeEntry => ({
  type: definition.type,
  queue: definition.queue ?? DEFAULT_QUEUE,
  maxAttempts: definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  timeoutSeconds: definition.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
  paused,
  inputSchema: inputSchemaOf(definition),
});

/** Every registered type, by name, with its paused state for the tenant (one D1 read). */
export async function listJobTypes(deps: Pick<JobTypeDeps, "d1" | "registry" | "tenant">): Promise<JobTypeEntry[]> {
  const paused = await pausedTypesOf(deps.d1, deps.tenant);
  return [...deps.registry.values()]
    .sort((a, b) => (a.type < b.type ? -1 : 1))
    .map((definition) => entryOf(definition, paused.has(definition.type)));
}

function definitionOf(registry: JobRegistry, type: string): JobDefinition {
  const definition = registry.get(type);
  // Named like an unknown id (404), with the registered types as an unknown_job_type refusal lists them.
  if (!definition) throw new ApiError("not_found", new UnknownJobTypeError(type, registry.keys()).message);
  return definition;
}

/**
 * Pauses a type for the tenant: from now on the consumer holds its jobs as they arrive (enqueues are still
 * accepted). Pausing a paused type writes nothing.
 */
export async function pauseJobType(deps: JobTypeDeps, type: string): Promise<JobTypeEntry> {
  const definition = definitionOf(deps.registry, type);
  const { meta } = await pauseStatement(deps.d1, deps.tenant, type, deps.now).run();
  if ((meta.changes ?? 0) > 0) deps.log.info("job type paused", { type });
  return entryOf(definition, true);
}

/**
 * Resumes a type for the tenant and sends its held jobs again: the unpause and the first page commit together,
 * then up to RELEASE_PAGES pages in all; any rest is the tick's (releaseResumedTypes). Resuming a type that is
 * not paused (and holds nothing) writes nothing.
 */
export async function resumeJobType(
  deps: JobTypeDeps,
  type: string,
  options: ReleaseOptions = {},
): Promise<JobTypeEntry & { released: number }> {
  const definition = definitionOf(deps.registry, type);
  const pageSize = options.pageSize ?? RELEASE_PAGE_SIZE;
  const page = { tenant: deps.tenant, type, size: pageSize, now: deps.now, watchBelow: watchBelow(deps.now) };
  const [unpaused, first] = await deps.d1.batch<ReleasedRow>([
    unpauseStatement(deps.d1, deps.tenant, type),
    releasePageStatement(deps.d1, page),
  ]);
  let rows = first?.results ?? [];
  let released = await sendReleased(deps, rows);
  for (let n = 1; n < (options.pages ?? RELEASE_PAGES) && rows.length === pageSize; n++) {
    rows = (await releasePageStatement(deps.d1, page).all<ReleasedRow>()).results;
    released += await sendReleased(deps, rows);
  }
  if ((unpaused?.meta.changes ?? 0) > 0 || released > 0) deps.log.info("job type resumed", { type, released });
  return { ...entryOf(definition, false), released };
}

export type ReleaseReport = { released: number; sendFailures: number };

/**
 * The tick's share of a resume: held jobs of types that are no longer paused (a resume that had more than its
 * pages, or whose own sends failed before the rows were let go), a bounded number of pages per tick. A type
 * paused again meanwhile keeps its jobs: every page checks paused_types in the same statement.
 */
export async function releaseResumedTypes(
  deps: { d1: D1Database; queue: Queue<JobMessage>; log: Logger; now: number },
  options: ReleaseOptions = {},
): Promise<ReleaseReport> {
  const pageSize = options.pageSize ?? RELEASE_PAGE_SIZE;
  let pagesLeft = options.pages ?? RELEASE_PAGES;
  const report: ReleaseReport = { released: 0, sendFailures: 0 };
  const pairs = await releasablePairs(deps.d1, TICK_PAIRS, TICK_SCAN_PAIRS);
  for (const { tenant, type } of pairs) {
    const page = { tenant, type, size: pageSize, now: deps.now, watchBelow: watchBelow(deps.now) };
    while (pagesLeft > 0) {
      pagesLeft--;
      const rows = (await releasePageStatement(deps.d1, page).all<ReleasedRow>()).results;
      const queued = rows.filter((row) => row.status === "queued");
      const failed = await sendMessages(deps.queue, queued, deps.now, deps.log);
      report.released += queued.length - failed;
      report.sendFailures += failed;
      if (rows.length > 0) deps.log.info("held jobs released", { tenant, type, released: queued.length });
      if (rows.length < pageSize) break;
    }
    if (pagesLeft === 0) break;
  }
  return report;
}

/** Sends the released jobs that are still queued (one cancelled while held stays cancelled); answers how many. */
async function sendReleased(deps: JobTypeDeps, rows: ReleasedRow[]): Promise<number> {
  const queued = rows.filter((row) => row.status === "queued");
  // A failed send is logged and left to the tick's outbox rescue: the rows are committed as queued and due.
  const failed = await sendMessages(deps.queue, queued, deps.now, deps.log);
  return queued.length - failed;
}

/** Ids older than this could leave the fresh-id rescue scan before a lost message is noticed (see needsWatch). */
const watchBelow = (now: number) => idFloor("job", now - RESCUE_WINDOW_MS / 2);
