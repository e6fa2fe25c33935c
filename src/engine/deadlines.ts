// Many deadlines on one timer: a batch's attempts share it instead of arming a (costly, nodejs_compat) timer each.

export type Deadline = { readonly at: number; readonly fire: () => void };

export class Deadlines {
  private readonly pending = new Set<Deadline>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  /** Calls `fire` once, at real time `at` (unless removed first). */
  add(at: number, fire: () => void): Deadline {
    const deadline = { at, fire };
    this.pending.add(deadline);
    if (at < this.armedFor) this.arm(at);
    return deadline;
  }

  remove(deadline: Deadline): void {
    this.pending.delete(deadline);
    // No timer outlives the last deadline; otherwise the armed one stays and re-arms for the next when it fires.
    if (this.pending.size === 0) this.disarm();
  }

  private arm(at: number): void {
    this.disarm();
    this.armedFor = at;
    this.timer = setTimeout(() => this.fireDue(), Math.max(1, at - this.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private fireDue(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    const due: Deadline[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const deadline of this.pending) {
      if (deadline.at <= now) due.push(deadline);
      else next = Math.min(next, deadline.at);
    }
    for (const deadline of due) this.pending.delete(deadline);
    if (next < this.armedFor) this.arm(next);
    for (const deadline of due) deadline.fire();
  }
}
