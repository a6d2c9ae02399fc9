export interface VadOptions {
  /** Speech probability at or above which a frame counts as speech (0–1). */
  threshold: number;
  /** Speech must last this long before speech start is reported. */
  minSpeechMs: number;
  /** Silence must last this long before speech end is reported. */
  minSilenceMs: number;
  /** Audio kept before the detected start (reported in the start event's offset). */
  paddingMs: number;
}

export const DEFAULT_VAD_OPTIONS: VadOptions = {
  threshold: 0.5,
  minSpeechMs: 100,
  minSilenceMs: 300,
  paddingMs: 200,
};

export type VadEvent =
  /** `atMs`: stream time the speech began (after padding); reported once minSpeechMs of speech is seen. */
  | { type: 'speech_start'; atMs: number }
  /** `atMs`: stream time of the last speech frame; reported once minSilenceMs of silence follows it. */
  | { type: 'speech_end'; atMs: number; durationMs: number };

export interface VadFrameResult {
  /** Speech probability of this frame (0–1). */
  probability: number;
  /** At most one event per frame. */
  event?: VadEvent;
}

/** A per-call detector: feed every 20 ms frame, in order; it keeps its own stream clock. */
export interface VadStream {
  readonly frameMs: number;
  process(frame: Int16Array): VadFrameResult;
  /**
   * Optional deferred mode: with a listener registered, a driver may batch inference across calls and
   * report a frame's events a moment after process() returned (within the same event-loop turn), through
   * the listener instead of the return value. Event times stay on the stream clock. Drivers without it
   * always answer synchronously.
   */
  onEvent?(listener: (event: VadEvent) => void): void;
  reset(): void;
  close(): void;
}

export abstract class VoiceActivityDetector {
  abstract readonly driver: string;
  /** A stream for PCM16 mono at `sampleRate` (16000 or 24000), 20 ms frames. */
  abstract createStream(sampleRate: number, options?: Partial<VadOptions>): Promise<VadStream>;
}
