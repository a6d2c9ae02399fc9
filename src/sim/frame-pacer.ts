/** Epoch milliseconds with sub-millisecond resolution from the monotonic clock (no wall-clock jumps). */
export function simClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Something that sends the frames due by `now` (a SimulatedCaller). */
export interface Tickable {
  tick(now: number): void;
}

/**
 * One timer for any number of simulated callers: every `tickMs` it asks each caller to send the frames
 * that are due. Each caller keeps its own 20 ms schedule (its phase is its connect time), so a tick only
 * sends what is due and a late tick catches up. The timer runs only while callers are registered.
 * A load generator with its own loop can skip the pacer and call `caller.tick(now)` itself.
 */
export class FramePacer {
  private static sharedInstance: FramePacer | undefined;
  private readonly callers = new Set<Tickable>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tickMs = 5) {}

  /** The process-wide pacer that callers use unless given one. */
  static shared(): FramePacer {
    FramePacer.sharedInstance ??= new FramePacer();
    return FramePacer.sharedInstance;
  }

  add(caller: Tickable): void {
    this.callers.add(caller);
    if (!this.timer) this.schedule();
  }

  remove(caller: Tickable): void {
    this.callers.delete(caller);
    if (this.callers.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.callers.size;
  }

  private schedule(): void {
    this.timer = setTimeout(this.run, this.tickMs);
  }

  private readonly run = (): void => {
    this.timer = undefined;
    const now = simClock();
    for (const caller of this.callers) caller.tick(now);
    if (this.callers.size > 0) this.schedule();
  };
}
