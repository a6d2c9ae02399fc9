/**
 * Host stalls seen from an idle process. The runner has nothing to do while a window is measured, so
 * when its 5 ms timer fires tens of milliseconds late, the machine did not run it: on this shared VM
 * that is the host descheduling the virtual CPUs, which delays the service and the load generator by
 * the same amount (both show it as a long "GC pause" or as a jitter burst). Windows that break the SLOs
 * during such a stall say nothing about the service (see needsAnotherWindow).
 */

/** A stall at least this long makes a window that broke the SLOs inconclusive. */
export const HOST_STALL_MS = 20;

/** How late ticks came (pure: fed with timestamps, so it is tested without timers). */
export class StallRecorder {
  private last: number | undefined;
  private maxLate = 0;
  private over = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly thresholdMs = HOST_STALL_MS,
  ) {}

  /** One tick at `nowMs` (monotonic); the first after a reset only anchors. */
  tick(nowMs: number): void {
    if (this.last !== undefined) {
      const late = nowMs - this.last - this.intervalMs;
      if (late > this.maxLate) this.maxLate = late;
      if (late >= this.thresholdMs) this.over++;
    }
    this.last = nowMs;
  }

  reset(): void {
    this.last = undefined;
    this.maxLate = 0;
    this.over = 0;
  }

  /** The longest lateness and how many ticks were at least `thresholdMs` late. */
  read(): { max_ms: number; stalls: number } {
    return { max_ms: Math.round(this.maxLate * 10) / 10, stalls: this.over };
  }
}

/** The recorder on a real 5 ms timer in this (idle) process; unref'd so it never keeps it alive. */
export class HostStallProbe {
  private readonly recorder: StallRecorder;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 5) {
    this.recorder = new StallRecorder(intervalMs);
    this.recorder.tick(performance.now());
    this.timer = setInterval(() => this.recorder.tick(performance.now()), intervalMs);
    this.timer.unref();
  }

  reset(): void {
    this.recorder.reset();
    this.recorder.tick(performance.now());
  }

  read(): { max_ms: number; stalls: number } {
    return this.recorder.read();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
