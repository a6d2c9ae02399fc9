import { Histogram } from '../../common/histogram';

/**
 * How late the playout's pacing timers fire, across every call of the replica: the service-side part of
 * outbound jitter (a late timer sends its frame late). Recorded about once per sent frame, so it
 * allocates nothing per record.
 */
export class PacingStats {
  private readonly window = new Histogram(200, 0.5);
  /** Timer fires later than 10 ms (the jitter SLO), since start. */
  lateOver10 = 0;

  readonly record = (lateMs: number): void => {
    this.window.record(lateMs);
    if (lateMs > 10) this.lateOver10++;
  };

  get count(): number {
    return this.window.count;
  }

  get maxMs(): number {
    return this.window.max;
  }

  /** The p-th percentile of this window (ms, to the 0.5 ms bin, capped at the max); 0 with no samples. */
  percentile(p: number): number {
    return this.window.count === 0 ? 0 : this.window.percentile(p);
  }

  /** Starts a new measurement window (the since-start counter `lateOver10` is kept for metrics). */
  resetWindow(): void {
    this.window.reset();
  }
}
