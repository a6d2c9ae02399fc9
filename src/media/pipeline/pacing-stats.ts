/**
 * How late the playout's pacing timers fire, across every call of the replica: the service-side part of
 * outbound jitter (a late timer sends its frame late). Fixed 0.5 ms bins up to 200 ms and a counter per
 * record, so recording once per sent frame allocates nothing.
 */
const BIN_MS = 0.5;
const BINS = 400;

export class PacingStats {
  private readonly bins = new Uint32Array(BINS + 1);
  count = 0;
  maxMs = 0;
  /** Timer fires later than 10 ms (the jitter SLO), since start. */
  lateOver10 = 0;

  readonly record = (lateMs: number): void => {
    const ms = lateMs > 0 ? lateMs : 0;
    this.bins[Math.min(BINS, Math.floor(ms / BIN_MS))]++;
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
    if (ms > 10) this.lateOver10++;
  };

  /** Upper edge of the bin holding the p-th percentile (ms); 0 with no samples. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i <= BINS; i++) {
      seen += this.bins[i];
      if (seen >= rank) return i === BINS ? this.maxMs : (i + 1) * BIN_MS;
    }
    return this.maxMs;
  }

  /** Starts a new measurement window (the since-start counter `lateOver10` is kept for metrics). */
  resetWindow(): void {
    this.bins.fill(0);
    this.count = 0;
    this.maxMs = 0;
  }
}
