// ctx.step for one attempt: memoized steps over a lazily loaded store, and the park that ends a run waiting on
// sleeps, events or children (collected once the handler's pending work settles; see runAttempt).
import { MAX_DELAY_SECONDS } from "../contract/job";
import { describeError } from "../core/errors";
import {
  ChildJobFailedError,
  type InvokeOptions,
  MAX_STEP_RESULT_BYTES,
  MAX_STEPS_PER_JOB,
  STEP_NAME,
  type StepApi,
  type StepKind,
  StepRuleError,
  type WaitingFor,
} from "../core/steps";
import type { JobRow } from "../db/schema";
import { CANCELLED_WAIT, type StoredStep } from "../db/step-statements";

/** Where a job's steps live: D1 in the engine (step-store.ts), memory in tests of a handler. */
export type StepStore = {
  load(): Promise<StoredStep[]>;
  /** Writes a finished run step; answers the row another delivery stored first, if one did (null: this one landed). */
  saveRun(name: string, result: string, startedAt: number, finishedAt: number): Promise<StoredStep | null>;
  completeSleep(name: string, now: number): Promise<void>;
  /** Times out a waiting event step; answers the row as it is after (an event may have completed it first). */
  timeOutEvent(name: string, now: number): Promise<StoredStep | null>;
};

/** A step called after its run parked: the handler's later work is refused (ctx.signal is aborted with it). */
export class RunParkedError extends Error {
  override name = "RunParkedError";
}

/** One step the run parked on: `existing` steps already have their waiting row (a re-park). */
export type ParkedStep = {
  name: string;
  kind: "sleep" | "event" | "invoke";
  existing: boolean;
  wakeAt: number | null;
  event: string | null;
  key: string | null;
  childId: string | null;
  /** An event wait: when the handler called it (an event since then, less the lookback, completes it at park). */
  calledAt: number | null;
};

/** What a run that parks writes with its outcome: its new waiting steps, the children it starts, when it wakes. */
export type Park = {
  steps: ParkedStep[];
  children: JobRow[];
  waitingFor: WaitingFor;
  /** The earliest wake time (a sleep's end, an event's timeout); a park on children only: a year, as a safety net. */
  runAt: number;
};

export type StepRunnerDeps = {
  store: StepStore;
  now: () => number;
  /** The child's job row as an enqueue would build it (parentId set); throws the enqueue's refusals. */
  buildChild: ((options: InvokeOptions) => JobRow) | null;
};

/** A park on children alone wakes by their completion; its run time is only a safety net for the tick. */
export const CHILD_WAIT_SAFETY_MS = MAX_DELAY_SECONDS * 1000;

const PARKED = Symbol("parked");
const never = new Promise<never>(() => {});

const json = (text: string | null) => (text == null ? null : JSON.parse(text));

/** UTF-8 takes at most 3 bytes per UTF-16 unit: most results are checked without being encoded. */
const byteLength = (text: string) =>
  text.length * 3 <= MAX_STEP_RESULT_BYTES ? 0 : new TextEncoder().encode(text).byteLength;

/** The step's result as stored: JSON text within MAX_STEP_RESULT_BYTES, or a StepRuleError. */
export function stepResultJson(name: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    throw new StepRuleError(`step "${name}" returned a value that is not JSON: ${describeError(err).message}`);
  }
  if (text === undefined) throw new StepRuleError(`step "${name}" returned a value that is not JSON`);
  const bytes = byteLength(text);
  if (bytes > MAX_STEP_RESULT_BYTES) {
    throw new StepRuleError(
      `step "${name}" returned ${bytes} bytes of JSON; a step result is at most ${MAX_STEP_RESULT_BYTES} bytes (store large data elsewhere and return a reference)`,
    );
  }
  return text;
}

const toMs = (until: Date | string | number) =>
  until instanceof Date ? until.getTime() : typeof until === "number" ? until : Date.parse(until);

/** The steps of one attempt: `api` is ctx.step. A broken rule fails the attempt even if the handler catches it. */
export class StepRunner {
  readonly api: StepApi;
  /** The first step rule this run broke (a StepRuleError is non-retryable: the job dies with it). */
  broken: StepRuleError | undefined;
  private loaded: Promise<Map<string, StoredStep>> | undefined;
  private readonly used = new Set<string>();
  private readonly parks: ParkedStep[] = [];
  private readonly children: JobRow[] = [];
  private inflight = 0;
  /** Steps of this run that have no stored row yet (MAX_STEPS_PER_JOB counts them with the stored ones). */
  private fresh = 0;
  private checkQueued = false;
  private fired = false;

  constructor(
    private readonly deps: StepRunnerDeps,
    private readonly onPark: (park: Park) => void,
  ) {
    this.api = {
      run: (name, fn) => this.step(name, "run", (stored) => this.run(name, stored, fn)),
      sleep: (name, seconds) => {
        if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_DELAY_SECONDS) {
          return this.refuse(`sleep "${name}": seconds must be a number from 0 to ${MAX_DELAY_SECONDS}`);
        }
        return this.step(name, "sleep", (stored) => this.sleep(name, stored, () => this.deps.now() + seconds * 1000));
      },
      sleepUntil: (name, until) => {
        const ms = toMs(until);
        if (!Number.isFinite(ms)) return this.refuse(`sleepUntil "${name}": not a date`);
        return this.step(name, "sleep", (stored) => this.sleep(name, stored, () => ms));
      },
      waitForEvent: <T>(name: string, wait: { event: string; key?: string; timeoutSeconds: number }) => {
        const { event, key, timeoutSeconds } = wait ?? {};
        if (typeof event !== "string" || event.length < 1 || event.length > 200) {
          return this.refuse(`waitForEvent "${name}": event must be a name of 1 to 200 characters`);
        }
        // POST /v1/events refuses an empty key, so a wait on "" could never be met by a keyed event.
        if (key !== undefined && (typeof key !== "string" || key.length < 1 || key.length > 200)) {
          return this.refuse(`waitForEvent "${name}": key must be a string of 1 to 200 characters`);
        }
        if (
          typeof timeoutSeconds !== "number" ||
          !Number.isFinite(timeoutSeconds) ||
          timeoutSeconds <= 0 ||
          timeoutSeconds > MAX_DELAY_SECONDS
        ) {
          return this.refuse(`waitForEvent "${name}": timeoutSeconds must be from 1 to ${MAX_DELAY_SECONDS}`);
        }
        // The lookback counts from the call, not from the park: a slow step beside the wait must not hide an event.
        const calledAt = this.deps.now();
        return this.step<T | null>(name, "event", (stored) =>
          this.waitForEvent<T>(name, stored, { event, key: key ?? null, timeoutSeconds, calledAt }),
        );
      },
      invoke: <T>(name: string, child: InvokeOptions) =>
        this.step<T>(name, "invoke", (stored) => this.invoke<T>(name, stored, child)),
    };
  }

  private refuse(message: string): Promise<never> {
    const error = new StepRuleError(message);
    this.broken ??= error;
    return Promise.reject(error);
  }

  private load(): Promise<Map<string, StoredStep>> {
    this.loaded ??= this.deps.store.load().then((rows) => new Map(rows.map((row) => [row.name, row])));
    return this.loaded;
  }

  /** Every step: its name checked and claimed for this run, the stored row looked up, the work counted in flight. */
  private step<T>(
    name: string,
    kind: StepKind,
    body: (stored: StoredStep | undefined) => Promise<T | typeof PARKED>,
  ): Promise<T> {
    if (typeof name !== "string" || !STEP_NAME.test(name)) {
      return this.refuse(`step name ${JSON.stringify(name)} must match ${STEP_NAME}`);
    }
    if (this.used.has(name)) return this.refuse(`step name "${name}" is used twice in this job`);
    // The run has parked (its outcome is being written): work the handler goes on with must not write steps.
    if (this.fired) return Promise.reject(new RunParkedError(`step "${name}" called after the run parked`));
    this.used.add(name);
    this.inflight++;
    const work = (async () => {
      const steps = await this.load();
      const row = steps.get(name);
      if (row && row.kind !== kind) {
        throw this.brokenBy(`step "${name}" was a ${row.kind} step and is now a ${kind} step`);
      }
      if (!row && steps.size + ++this.fresh > MAX_STEPS_PER_JOB) {
        throw this.brokenBy(`a job records at most ${MAX_STEPS_PER_JOB} steps`);
      }
      // A wait the job's cancel closed never happened: a retry by hand waits (or invokes) again; the park reopens its row.
      return body(row && closedByCancel(row) ? undefined : row);
    })();
    return work.then(
      (value) => {
        this.settled();
        return value === PARKED ? never : (value as T);
      },
      (error: unknown) => {
        this.settled();
        if (error instanceof StepRuleError) this.broken ??= error;
        throw error;
      },
    );
  }

  private brokenBy(message: string): StepRuleError {
    const error = new StepRuleError(message);
    this.broken ??= error;
    return error;
  }

  private settled(): void {
    this.inflight--;
    if (this.parks.length === 0 || this.checkQueued || this.fired) return;
    this.checkQueued = true;
    // After the microtasks this settle set off: every invoke of a Promise.all registers before the run parks.
    setTimeout(() => {
      this.checkQueued = false;
      if (this.fired || this.inflight > 0 || this.parks.length === 0) return;
      this.fired = true;
      this.onPark(this.park());
    }, 0);
  }

  private park(): Park {
    const invokes = this.parks.filter((p) => p.kind === "invoke");
    const timed = this.parks.filter((p) => p.wakeAt !== null).sort((a, b) => (a.wakeAt ?? 0) - (b.wakeAt ?? 0));
    const first = timed[0];
    const runAt = first?.wakeAt ?? this.deps.now() + CHILD_WAIT_SAFETY_MS;
    let waitingFor: WaitingFor;
    if (invokes.length > 0) waitingFor = { kind: "invoke", jobIds: invokes.map((p) => p.childId ?? "") };
    else if (first?.kind === "event") {
      waitingFor = {
        kind: "event",
        event: first.event ?? "",
        ...(first.key !== null ? { key: first.key } : {}),
        until: new Date(runAt).toISOString(),
      };
    } else waitingFor = { kind: "sleep", until: new Date(runAt).toISOString() };
    return { steps: [...this.parks], children: [...this.children], waitingFor, runAt };
  }

  private async run<T>(name: string, stored: StoredStep | undefined, fn: () => Promise<T> | T) {
    if (stored?.status === "succeeded") return json(stored.result) as T;
    const startedAt = this.deps.now();
    const value = await fn();
    const text = stepResultJson(name, value);
    const other = await this.deps.store.saveRun(name, text, startedAt, this.deps.now());
    // Another delivery stored this step first: its result is the step's.
    return json(other?.status === "succeeded" ? other.result : text) as T;
  }

  private async sleep(name: string, stored: StoredStep | undefined, until: () => number) {
    const now = this.deps.now();
    if (stored) {
      if (stored.status !== "waiting") return undefined;
      if ((stored.wakeAt ?? 0) <= now) {
        await this.deps.store.completeSleep(name, now);
        return undefined;
      }
      return this.register({ ...parked(name, "sleep", true), wakeAt: stored.wakeAt });
    }
    const wakeAt = until();
    if (wakeAt <= now) return undefined;
    if (wakeAt > now + MAX_DELAY_SECONDS * 1000) throw this.brokenBy(`sleep "${name}": at most 365 days ahead`);
    return this.register({ ...parked(name, "sleep", false), wakeAt });
  }

  private async waitForEvent<T>(
    name: string,
    stored: StoredStep | undefined,
    wait: { event: string; key: string | null; timeoutSeconds: number; calledAt: number },
  ): Promise<T | null | typeof PARKED> {
    const now = this.deps.now();
    if (stored) {
      if (stored.status === "succeeded") return json(stored.result) as T;
      if (stored.status !== "waiting") return null;
      if ((stored.wakeAt ?? 0) <= now) {
        const after = await this.deps.store.timeOutEvent(name, now);
        return after?.status === "succeeded" ? (json(after.result) as T) : null;
      }
      return this.register({
        ...parked(name, "event", true),
        wakeAt: stored.wakeAt,
        event: stored.eventName,
        key: stored.eventKey,
      });
    }
    return this.register({
      ...parked(name, "event", false),
      wakeAt: now + wait.timeoutSeconds * 1000,
      event: wait.event,
      key: wait.key,
      calledAt: wait.calledAt,
    });
  }

  private async invoke<T>(name: string, stored: StoredStep | undefined, options: InvokeOptions) {
    if (stored) {
      if (stored.status === "succeeded") return json(stored.result) as T;
      if (stored.status === "failed") {
        const error = json(stored.error) as { message?: string; name?: string; childStatus?: string } | null;
        const childStatus = error?.childStatus === "cancelled" ? "cancelled" : "dead";
        throw new ChildJobFailedError(
          `child job ${stored.childId} of step "${name}" is ${childStatus}: ${error?.message ?? "no error recorded"}`,
          stored.childId ?? "",
          childStatus,
          error ? { message: error.message ?? "", name: error.name ?? "Error" } : null,
        );
      }
      return this.register({ ...parked(name, "invoke", true), childId: stored.childId });
    }
    const build = this.deps.buildChild;
    if (!build) throw new Error("ctx.step.invoke needs the engine (runJob cannot start child jobs)");
    let row: JobRow;
    try {
      row = build(options);
    } catch (err) {
      throw this.brokenBy(`invoke "${name}": ${describeError(err).message}`);
    }
    this.children.push(row);
    return this.register({ ...parked(name, "invoke", false), childId: row.id });
  }

  private register(step: ParkedStep): typeof PARKED {
    this.parks.push(step);
    return PARKED;
  }
}

/** A wait the cancel cascade closed (CLOSE_WAITS in db/step-statements.ts): status failed, error JobCancelledError. */
export const closedByCancel = (row: StoredStep): boolean =>
  row.status === "failed" &&
  row.kind !== "run" &&
  (json(row.error) as { name?: string } | null)?.name === CANCELLED_WAIT;

const parked = (name: string, kind: ParkedStep["kind"], existing: boolean): ParkedStep => ({
  name,
  kind,
  existing,
  wakeAt: null,
  event: null,
  key: null,
  childId: null,
  calledAt: null,
});
