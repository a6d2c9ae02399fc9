import type { VadEvent, VadOptions } from '../ports';

/**
 * Turns per-frame speech probabilities into speech start / end events with hysteresis: start after
 * `minSpeechMs` of consecutive speech frames (reported at onset minus padding), end after
 * `minSilenceMs` of consecutive non-speech frames (reported at the last speech frame). Pure and
 * clock-free: time is the count of frames fed, so tests count frames.
 */
export class VadSegmenter {
  private timeMs = 0;
  private speaking = false;
  private runSpeechMs = 0;
  private runSilenceMs = 0;
  private onsetMs = 0;
  private lastSpeechEndMs = 0;
  private segmentStartMs = 0;
  // Below threshold − 0.15 counts as silence once speaking (Silero's recommended hysteresis).
  private readonly offThreshold: number;

  constructor(
    private readonly options: VadOptions,
    readonly frameMs: number,
  ) {
    this.offThreshold = Math.max(0, options.threshold - 0.15);
  }

  push(probability: number): VadEvent | undefined {
    const frameStart = this.timeMs;
    this.timeMs += this.frameMs;
    if (!this.speaking) {
      if (probability >= this.options.threshold) {
        if (this.runSpeechMs === 0) this.onsetMs = frameStart;
        this.runSpeechMs += this.frameMs;
        if (this.runSpeechMs >= this.options.minSpeechMs) {
          this.speaking = true;
          this.runSilenceMs = 0;
          this.lastSpeechEndMs = this.timeMs;
          this.segmentStartMs = Math.max(0, this.onsetMs - this.options.paddingMs);
          return { type: 'speech_start', atMs: this.segmentStartMs };
        }
      } else {
        this.runSpeechMs = 0;
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
      this.runSpeechMs = 0;
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
    this.runSpeechMs = 0;
    this.runSilenceMs = 0;
  }
}
