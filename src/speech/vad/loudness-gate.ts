/** A frame counts as loud this far above the line's noise floor (dB). */
export const LOUD_ABOVE_FLOOR_DB = 12;
/** …and never below this level (dBFS): on a digitally silent line every faint sound would be loud. */
export const LOUD_MIN_DBFS = -60;
/**
 * How fast the floor may rise (dB per frame; 2.5 dB/s at 20 ms frames). It falls at once to any
 * quieter frame, so it follows the pauses between words and a line that gets quieter, while a
 * second of speech lifts it by only a few dB.
 */
const FLOOR_RISE_DB_PER_FRAME = 0.05;
/** Digital silence, as a level. */
const SILENCE_DBFS = -100;

/**
 * Says whether a frame's energy stands out from the line's noise floor — the onset marker for a VAD
 * model that reacts later than the sound (see VadSegmenter's onset lookback). One log10 per frame,
 * no allocation; the caller passes the frame's sum of squares, taken while it copies the samples.
 */
export class LoudnessGate {
  private floorDbfs = Number.NaN;

  /** `sumSquares` of `samples` 16-bit samples (values −32768…32767). */
  loud(sumSquares: number, samples: number): boolean {
    if (samples === 0) return false;
    const mean = sumSquares / samples;
    const level = mean > 0 ? 10 * Math.log10(mean / (32768 * 32768)) : SILENCE_DBFS;
    this.floorDbfs = Number.isNaN(this.floorDbfs)
      ? level
      : Math.min(level, this.floorDbfs + FLOOR_RISE_DB_PER_FRAME);
    return level > Math.max(LOUD_MIN_DBFS, this.floorDbfs + LOUD_ABOVE_FLOOR_DB);
  }

  /** Current noise floor estimate (dBFS; NaN before the first frame). */
  get floor(): number {
    return this.floorDbfs;
  }

  reset(): void {
    this.floorDbfs = Number.NaN;
  }
}
