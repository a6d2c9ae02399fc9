import type { VadEvent, VadOptions } from '../ports';

/**
 * Turns per-frame speech probabilities into speech start / end events with hysteresis: start after
 * `minSpeechMs` of consecutive speech frames (reported at onset minus padding), end after
 * `minSilenceMs` of consecutive non-speech frames (reported at the last speech frame). Pure and
 * clock-free: time is the count of frames fed, so tests count frames.
 *
 * Onset lookback (`onsetLookbackMs` > 0): a model whose probability lags the sound (Silero crosses
 * its threshold 20–100 ms after a word's first loud frame) would otherwise count `minSpeechMs` from
 * its own late onset, and a barge-in would fire that much later than `minSpeechMs` after the caller
 * started. When the frames just before the first speech frame were loud (push's `loud` flag), the
 * onset moves back to the start of that loud run, by at most `onsetLookbackMs` (and at most half of
 * `minSpeechMs`). The model still has to call every frame from its own onset on speech: loudness alone
 * never starts a segment.
 */
export class VadSegmenter {
  private timeMs = 0;
  private speaking = false;
  /** A run of speech frames is under way (not yet minSpeechMs long). */
  private inRun = false;
  /** Start of the current run of loud frames, or −1. */
  private loudSinceMs = -1;
  private runSilenceMs = 0;
  private onsetMs = 0;
  private lastSpeechEndMs = 0;
  private segmentStartMs = 0;
  // Below threshold − 0.15 counts as silence once speaking (Silero's recommended hysteresis).
  private readonly offThreshold: number;
  private readonly onsetLookbackMs: number;

  constructor(
    private readonly options: VadOptions,
    readonly frameMs: number,
    onsetLookbackMs = 0,
  ) {
    this.offThreshold = Math.max(0, options.threshold - 0.15);
    // The model must itself call at least half of minSpeechMs speech.
    this.onsetLookbackMs = Math.min(onsetLookbackMs, options.minSpeechMs / 2);
  }

  /** `loud`: the frame's energy stands out from the line's noise floor (used by the onset lookback). */
  push(probability: number, loud = false): VadEvent | undefined {
    const frameStart = this.timeMs;
    this.timeMs += this.frameMs;
    if (!loud) this.loudSinceMs = -1;
    else if (this.loudSinceMs < 0) this.loudSinceMs = frameStart;
    if (!this.speaking) {
      if (probability >= this.options.threshold) {
        if (!this.inRun) {
          this.inRun = true;
          this.onsetMs =
            this.loudSinceMs >= 0
              ? Math.max(this.loudSinceMs, frameStart - this.onsetLookbackMs)
              : frameStart;
        }
        if (this.timeMs - this.onsetMs >= this.options.minSpeechMs) {
          this.speaking = true;
          this.inRun = false;
          this.runSilenceMs = 0;
          this.lastSpeechEndMs = this.timeMs;
          this.segmentStartMs = Math.max(0, this.onsetMs - this.options.paddingMs);
          return { type: 'speech_start', atMs: this.segmentStartMs };
        }
      } else {
        this.inRun = false;
      }
      return undefined;
    }
    if (probability >= this.offThreshold) {
      this.runSilenceMs = 0;
      this.lastSpeechEndMs = this.timeMs;
      return undefined;
    }
    this.runSilenceMs += this.frameMs;
    if (this.runSilenceMs >= this.options.minSilenceMs) {
      this.speaking = false;
      return {
        type: 'speech_end',
        atMs: this.lastSpeechEndMs,
        durationMs: this.lastSpeechEndMs - this.segmentStartMs,
      };
    }
    return undefined;
  }

  get isSpeaking(): boolean {
    return this.speaking;
  }

  /** Stream time consumed so far (frames × frameMs). */
  get nowMs(): number {
    return this.timeMs;
  }

  reset(): void {
    this.timeMs = 0;
    this.speaking = false;
    this.inRun = false;
    this.loudSinceMs = -1;
    this.runSilenceMs = 0;
  }
}
