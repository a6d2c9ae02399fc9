/**
 * Fixed-bin latency histogram: no allocation per sample, so it can record once per audio frame (the
 * playout's pacing statistics, the benchmark's load generator). Values in [0, maxMs) with
 * `resolutionMs` bins; larger values land in an overflow bin (max kept exactly).
 */
export class Histogram {
  private readonly bins: Uint32Array;
  count = 0;
  max = 0;
  sum = 0;

  constructor(
    private readonly maxMs = 2000,
    private readonly resolutionMs = 0.1,
  ) {
    this.bins = new Uint32Array(Math.ceil(maxMs / resolutionMs) + 1);
  }

  record(value: number): void {
    const v = value < 0 ? 0 : value;
    const i = Math.min(this.bins.length - 1, Math.floor(v / this.resolutionMs));
    this.bins[i]++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /**
   * Nearest-rank percentile (upper edge of the bin holding that rank, capped at max; the overflow bin
   * answers max); NaN when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    const last = this.bins.length - 1;
    let seen = 0;
    for (let i = 0; i < last; i++) {
      seen += this.bins[i];
      if (seen >= rank) return Math.min(this.max, (i + 1) * this.resolutionMs);
    }
    return this.max;
  }

  reset(): void {
    this.bins.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }

  /** Adds another histogram's samples (same geometry). */
  merge(other: Histogram): void {
    for (let i = 0; i < this.bins.length; i++) this.bins[i] += other.bins[i];
    this.count += other.count;
    this.sum += other.sum;
    this.max = Math.max(this.max, other.max);
  }
}
