// Lanes (issue #16): named queues declared by the deployment, each its own Cloudflare Queue with its own consumer,
// so a backlog in one lane never delays another. A job's lane is stored on its row (jobs.queue) and carried in
// its queue message, so every re-send (retry, deferral, wake, rescue) lands in the lane the job was enqueued to.
import { DEFAULT_QUEUE } from "../contract/schemas";

export const DEFAULT_LANE = DEFAULT_QUEUE;
/** Lowercase, digits, `_` and `-`; never ending in `-dlq` (that suffix marks a lane's dead-letter queue). */
export const LANE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const DLQ_SUFFIX = "-dlq";

export function isLaneName(name: string): boolean {
  return LANE_NAME.test(name) && !name.endsWith(DLQ_SUFFIX);
}

/**
 * The lanes a LANES var declares ("default,critical"); `default` is always one of them, even when unset.
 * Throws on a malformed name: a deployment with a bad lane list should fail loudly, not route jobs somewhere.
 */
export function parseLanes(value: string | undefined): readonly string[] {
  const names = (value ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!isLaneName(name)) {
      throw new Error(`LANES: "${name}" is not a lane name (lowercase letters, digits, _ and -; not ending in -dlq)`);
    }
  }
  const lanes = [...new Set([DEFAULT_LANE, ...names])];
  const bindings = new Map<string, string>();
  for (const lane of lanes) {
    const other = bindings.get(laneBinding(lane));
    if (other) throw new Error(`LANES: "${other}" and "${lane}" would share the binding ${laneBinding(lane)}`);
    bindings.set(laneBinding(lane), lane);
  }
  return lanes;
}

/**
 * Throws when a job type names a lane the deployment does not declare: that is the deployment's mistake, so it
 * fails every invocation loudly (like a missing binding) instead of refusing each client's enqueue with a 400.
 */
export function checkTypeLanes(types: Iterable<{ type: string; queue?: string }>, lanes: readonly string[]): void {
  for (const { type, queue } of types) {
    if (queue !== undefined && !lanes.includes(queue)) {
      throw new Error(`job type "${type}" runs in lane "${queue}", which LANES does not declare (${lanes.join(", ")})`);
    }
  }
}

/** The producer binding of a lane: JOBS_QUEUE for `default`, JOBS_QUEUE_<NAME> (uppercase, `-` as `_`) otherwise. */
export function laneBinding(lane: string): string {
  return lane === DEFAULT_LANE ? "JOBS_QUEUE" : `JOBS_QUEUE_${lane.toUpperCase().replaceAll("-", "_")}`;
}

/** A delivered batch comes from a dead-letter queue when its queue's name ends in `-dlq` (jobs-dlq, jobs-critical-dlq). */
export function isDeadLetterQueue(queueName: string): boolean {
  return queueName.endsWith(DLQ_SUFFIX);
}

/**
 * One producer for all lanes: sends each message to the queue of the lane its body names. Everything that sends
 * job messages takes a Queue, so routing here keeps every sender lane-correct without knowing about lanes.
 * Messages that are not job messages (callbacks) go to the default lane.
 */
export class LaneRouter implements Queue<unknown> {
  constructor(
    private readonly queues: ReadonlyMap<string, Queue<unknown>>,
    private readonly fallback: Queue<unknown>,
    /** The shard every message body is stamped with (src/core/shards.ts); none with one shard. */
    private readonly shard?: string,
  ) {}

  /** The queue of one lane; a lane no longer declared (messages from before a LANES change) falls back to default. */
  queueOf(lane: string): Queue<unknown> {
    return this.queues.get(lane) ?? this.fallback;
  }

  get lanes(): string[] {
    return [...this.queues.keys()];
  }

  /** The default lane's metrics (Queue's own interface); read a lane's with queueOf(lane).metrics(). */
  metrics(): Promise<QueueMetrics> {
    return this.fallback.metrics();
  }

  send(body: unknown, options?: QueueSendOptions): Promise<QueueSendResponse> {
    return this.queueOf(laneOfBody(body)).send(this.stamped(body), options);
  }

  async sendBatch(
    messages: Iterable<MessageSendRequest<unknown>>,
    options?: QueueSendBatchOptions,
  ): Promise<QueueSendBatchResponse> {
    const list = this.shard ? [...messages].map((m) => ({ ...m, body: this.stamped(m.body) })) : [...messages];
    let lane: string | undefined;
    let mixed = false;
    for (const message of list) {
      const next = laneOfBody(message.body);
      if (lane === undefined) lane = next;
      else if (next !== lane) mixed = true;
    }
    // The common case (one lane) is one sendBatch, as before lanes.
    if (!mixed) return this.queueOf(lane ?? DEFAULT_LANE).sendBatch(list, options);
    const byLane = new Map<string, MessageSendRequest<unknown>[]>();
    for (const message of list) {
      const name = laneOfBody(message.body);
      const group = byLane.get(name);
      if (group) group.push(message);
      else byLane.set(name, [message]);
    }
    const answers = await Promise.all([...byLane].map(([name, group]) => this.queueOf(name).sendBatch(group, options)));
    return answers[0] as QueueSendBatchResponse;
  }

  /** A copy of the body naming this router's shard (a sender's object is never changed); the body itself without one. */
  private stamped(body: unknown): unknown {
    return this.shard && typeof body === "object" && body !== null ? { ...body, shard: this.shard } : body;
  }
}

function laneOfBody(body: unknown): string {
  const lane = typeof body === "object" && body !== null ? (body as { queue?: unknown }).queue : undefined;
  return typeof lane === "string" ? lane : DEFAULT_LANE;
}

/**
 * The router over an env's lane bindings. Throws when a declared lane has no binding: wrangler.toml must declare a
 * producer (and a consumer) for each lane in LANES.
 */
export function laneRouterOf(env: Record<string, unknown>, lanes: readonly string[], shard?: string): LaneRouter {
  const queues = new Map<string, Queue<unknown>>();
  for (const lane of lanes) {
    const binding = env[laneBinding(lane)] as Queue<unknown> | undefined;
    if (!binding || typeof binding.sendBatch !== "function") {
      throw new Error(`lane "${lane}" is declared in LANES but the Worker has no queue binding ${laneBinding(lane)}`);
    }
    queues.set(lane, binding);
  }
  return new LaneRouter(queues, queues.get(DEFAULT_LANE) as Queue<unknown>, shard);
}
