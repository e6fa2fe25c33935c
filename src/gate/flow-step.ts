// The consumer's flow-control step: one KeyGate call per (tenant, flow key) per batch decides which jobs start now.
import type { Db } from "../db/client";
import { deferStatement, withDeferral } from "../db/deferrals";
import { attemptLogOf, type Statement } from "../db/jobs";
import type { JobRow } from "../db/schema";
import type { Logger } from "../jobs/logger";
import type { FlowSettings, JobMessage, JobOptions } from "../jobs/types";
import { flowGate, type GateNamespace } from "./gate-client";

export type FlowItem = { message: Message<unknown>; row: JobRow; options: JobOptions };

/** When the gate cannot be asked, the jobs wait this long and ask again; running them unchecked could break the limits. */
const GATE_DOWN_RETRY_SECONDS = 5;

export type FlowStep<W extends FlowItem> = {
  /** The jobs that may be claimed now: those without a flow key, and those their gate admitted. */
  admitted: W[];
  /** The deferred rows, for counting. */
  deferredRows: JobRow[];
  /** D1 writes recording the deferrals (runAt, attempt log); they ride in the consumer's claim batch. */
  writes: Statement[];
  /** Once `writes` committed: re-send each deferred job with its delay, then ack its message. */
  sendDeferrals(): Promise<void>;
  /** Waits until an admitted job's turn: the gate schedules rate-limited starts up to a few seconds ahead. */
  waitTurn(item: { row: JobRow }): Promise<void>;
  /** Gives back the slots of every admitted job (ran, lost its claim, or could not be claimed). One call per key; idempotent. */
  release(): Promise<void>;
};

type Group<W> = { tenant: string; flow: FlowSettings; settingsFrom: string; items: W[] };

/**
 * Asks each flow key's gate once, with all of this batch's jobs for that key and their lease
 * lengths (`leaseMs(item)`: the attempt's timeout plus the claim's slack), so a slot held by a
 * consumer that died comes back when that lease passes.
 */
export async function gateFlows<W extends FlowItem>(
  items: W[],
  deps: { gates: GateNamespace; queue: Queue<JobMessage>; db: Db; now: number; log: Logger; leaseMs(item: W): number },
): Promise<FlowStep<W>> {
  const groups = new Map<string, Group<W>>();
  const admitted: W[] = [];
  for (const item of items) {
    const flow = item.options.flow;
    if (!flow) {
      admitted.push(item);
      continue;
    }
    const name = JSON.stringify([item.row.tenantId, flow.key]);
    const group = groups.get(name) ?? { tenant: item.row.tenantId, flow, settingsFrom: item.row.id, items: [] };
    // Job ids sort by creation time: the newest job's settings are the key's settings.
    if (item.row.id >= group.settingsFrom) Object.assign(group, { flow, settingsFrom: item.row.id });
    group.items.push(item);
    groups.set(name, group);
  }

  const deferred: { item: W; delaySeconds: number }[] = [];
  const turnAt = new Map<string, number>();
  const idOf = (row: JobRow) => `${row.tenantId}/${row.id}`;
  const leasedGroups: { group: Group<W>; ids: string[] }[] = [];
  await Promise.all(
    [...groups.values()].map(async (group) => {
      // Oldest first, so the jobs that waited longest take the free capacity.
      const ordered = [...group.items].sort((a, b) => (a.row.id < b.row.id ? -1 : 1));
      try {
        const answer = await flowGate(deps.gates, group.tenant, group.flow.key).admit({
          key: group.flow.key,
          limits: { rate: group.flow.rate ?? null, concurrency: group.flow.concurrency ?? null },
          settingsFrom: group.settingsFrom,
          jobs: ordered.map((item) => ({ id: item.row.id, leaseMs: deps.leaseMs(item) })),
        });
        const answeredAt = Date.now();
        const waits = new Map(answer.admitted.map((a) => [a.id, a.waitMs]));
        const delays = new Map(answer.deferred.map((d) => [d.id, d.delaySeconds]));
        for (const item of ordered) {
          const waitMs = waits.get(item.row.id);
          if (waitMs !== undefined) {
            admitted.push(item);
            if (waitMs > 0) turnAt.set(idOf(item.row), answeredAt + waitMs);
          } else deferred.push({ item, delaySeconds: delays.get(item.row.id) ?? GATE_DOWN_RETRY_SECONDS });
        }
        if (answer.leased) leasedGroups.push({ group, ids: answer.admitted.map((a) => a.id) });
      } catch (err) {
        deps.log.error("flow gate unavailable; jobs wait", {
          tenant: group.tenant,
          jobIds: ordered.map((i) => i.row.id),
          error: err instanceof Error ? err.message : String(err),
        });
        for (const item of ordered) item.message.retry({ delaySeconds: GATE_DOWN_RETRY_SECONDS });
      }
    }),
  );

  const writes = deferred.map(({ item, delaySeconds }) => {
    const entry = {
      attempt: item.row.attempts + 1,
      startedAt: new Date(deps.now).toISOString(),
      finishedAt: new Date(deps.now).toISOString(),
      durationMs: 0,
      outcome: "deferred" as const,
      error: { name: "FlowDeferred", message: `flow key "${item.options.flow?.key}": starts in ${delaySeconds}s` },
    };
    const log = JSON.stringify(withDeferral(attemptLogOf(item.row), entry));
    return deferStatement(deps.db, item.row, log, deps.now + delaySeconds * 1000, deps.now);
  });

  let released = false;
  return {
    admitted,
    deferredRows: deferred.map((d) => d.item.row),
    writes,
    async sendDeferrals() {
      if (deferred.length > 0) await sendDeferrals(deferred, deps.queue, deps.log);
    },
    async waitTurn(item) {
      const wait = (turnAt.get(idOf(item.row)) ?? 0) - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    },
    async release() {
      if (released) return;
      released = true;
      await Promise.all(
        leasedGroups.map(({ group, ids }) =>
          flowGate(deps.gates, group.tenant, group.flow.key)
            .release(ids)
            .catch((err: unknown) => {
              // The slots come back anyway when their leases pass.
              deps.log.warn("flow slot release failed", {
                tenant: group.tenant,
                jobIds: ids,
                error: err instanceof Error ? err.message : String(err),
              });
            }),
        ),
      );
    },
  };
}

/**
 * A deferral is not an attempt: the message is acked and a fresh one is sent with the gate's delay,
 * so the queue's own retry counter never runs out on a long wait. If that send fails, the message
 * is retried with the same delay instead.
 */
async function sendDeferrals<W extends FlowItem>(
  deferred: { item: W; delaySeconds: number }[],
  queue: Queue<JobMessage>,
  log: Logger,
) {
  for (let i = 0; i < deferred.length; i += 100) {
    const chunk = deferred.slice(i, i + 100);
    try {
      await queue.sendBatch(
        chunk.map(({ item, delaySeconds }) => ({
          body: { tenant: item.row.tenantId, id: item.row.id } satisfies JobMessage,
          delaySeconds,
        })),
      );
      for (const { item, delaySeconds } of chunk) {
        log.info("job deferred by flow control", {
          jobId: item.row.id,
          type: item.row.type,
          tenant: item.row.tenantId,
          status: item.row.status,
          delaySeconds,
        });
        item.message.ack();
      }
    } catch (err) {
      log.warn("deferral send failed; message retried instead", {
        jobIds: chunk.map((d) => d.item.row.id),
        error: err instanceof Error ? err.message : String(err),
      });
      for (const { item, delaySeconds } of chunk) item.message.retry({ delaySeconds });
    }
  }
}
