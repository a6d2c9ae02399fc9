/**
 * Time seam for the media pipeline: pacing and "what has the caller heard" depend on time, so they take a
 * Clock instead of reading timers directly, and tests/benchmarks drive them with a FakeClock.
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a monotonic timeline (origin is arbitrary). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Real time. Timers are unref'd so a pacing timer never keeps a shutting-down process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Manual time: nothing happens until `advance`. */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers scheduled and not yet run or cleared (lets tests check that owners clean up). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due in deadline order (ties in scheduling
   * order), with `now()` equal to the timer's deadline while it runs — including timers that those
   * timers schedule inside the window.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance needs a non-negative duration, got ${ms}`);
    const end = this.time + ms;
    for (;;) {
      let dueId = 0;
      let due: { at: number; fn: () => void } | undefined;
      // Map iteration follows insertion order, so the strict `<` keeps ties in scheduling order.
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (due === undefined || timer.at < due.at)) {
          dueId = id;
          due = timer;
        }
      }
      if (due === undefined) break;
      this.timers.delete(dueId);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
  }
}
