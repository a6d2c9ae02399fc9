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
  reset(): void;
  close(): void;
}

export abstract class VoiceActivityDetector {
  abstract readonly driver: string;
  /** A stream for PCM16 mono at `sampleRate` (16000 or 24000), 20 ms frames. */
  abstract createStream(sampleRate: number, options?: Partial<VadOptions>): Promise<VadStream>;
}
