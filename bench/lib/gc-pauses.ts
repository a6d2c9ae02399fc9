import { constants, PerformanceObserver } from 'node:perf_hooks';
import { round } from './stats';

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * Garbage-collection pauses of this process (perf_hooks `gc` entries): the longest one and how many were
 * longer than 5 and 10 ms in the current window. A pause stops every call's timers at once, so it shows
 * as a burst of jitter across all calls.
 */
export class GcPauses {
  maxMs = 0;
  count = 0;
  over5 = 0;
  over10 = 0;
  /** Pauses over 5 ms by kind (major, minor…). */
  slowByKind: Record<string, number> = {};
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const ms = entry.duration;
      this.count++;
      if (ms > this.maxMs) this.maxMs = ms;
      if (ms > 5) {
        this.over5++;
        const kind = KINDS[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
        this.slowByKind[kind] = (this.slowByKind[kind] ?? 0) + 1;
      }
      if (ms > 10) this.over10++;
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  reset(): void {
    this.maxMs = 0;
    this.count = 0;
    this.over5 = 0;
    this.over10 = 0;
    this.slowByKind = {};
  }

  snapshot(): {
    max_ms: number;
    count: number;
    over_5ms: number;
    over_10ms: number;
    slow_by_kind: Record<string, number>;
  } {
    return {
      slow_by_kind: { ...this.slowByKind },
      max_ms: round(this.maxMs, 1),
      count: this.count,
      over_5ms: this.over5,
      over_10ms: this.over10,
    };
  }

  stop(): void {
    this.observer.disconnect();
  }
}
