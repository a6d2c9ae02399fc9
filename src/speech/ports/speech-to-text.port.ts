import type { DomainError } from '../../common/errors';

/** What the next caller turn is expected to contain; drives grammars (local) or phrase lists (Azure). */
export type ExpectedInput = 'free' | 'digits' | 'yes_no' | 'name';

export interface SttWord {
  word: string;
  /** Milliseconds from the start of the session's audio. */
  startMs: number;
  endMs: number;
  confidence?: number;
}

export interface SttSessionOptions {
  /** Sample rate of the PCM16 mono frames that will be written. */
  sampleRate: number;
  /** BCP-47 language, e.g. en-US. */
  language?: string;
  /** Optional auto-detect candidates (drivers that support it). */
  candidateLanguages?: string[];
  /** Phrase hints (names, product words) that bias recognition. */
  phrases?: string[];
  /** Expected input of the first utterance; change it later with setExpectedInput. */
  expected?: ExpectedInput;
  /** Aborts the session (same as abort()). */
  signal?: AbortSignal;
  /**
   * The owner runs a VAD: it calls speechStarted() when the caller starts speaking and endUtterance()
   * when they stop. Engines that decode continuously may then skip the audio between utterances (the
   * embedded engine does: noise between turns can no longer turn into words, and costs no decoding).
   */
  gated?: boolean;
}

export type SttEvent =
  | { type: 'partial'; text: string }
  | {
      type: 'final';
      text: string;
      confidence?: number;
      words?: SttWord[];
      /** Audio span of the utterance, ms from session start. */
      startMs?: number;
      endMs?: number;
    }
  /** The engine failed; the session is closed. The owner decides (apology, retry with a new session). */
  | { type: 'error'; error: DomainError };

export type SttListener = (event: SttEvent) => void;

/**
 * One streaming recognition. `write` is synchronous and cheap (called per 20 ms frame on the media
 * path); results arrive through the listener. `endUtterance` asks for the final of the current
 * utterance now (the turn detector saw end of speech); `close` releases the engine.
 */
export interface SttSession {
  write(frame: Buffer): void;
  /**
   * The turn detector heard speech begin `agoMs` milliseconds of written audio ago. A gated session
   * starts its utterance there (with a short lead-in) and uses the expected input set by then; engines
   * that segment for themselves ignore it.
   */
  speechStarted(agoMs: number): void;
  endUtterance(): void;
  setExpectedInput(expected: ExpectedInput): void;
  onEvent(listener: SttListener): void;
  /** Stops recognition and releases the engine (back to its pool). Idempotent. */
  close(): Promise<void>;
}

export abstract class SpeechToText {
  /** Which driver this is (for logs, /ready and /api/v1/pools). */
  abstract readonly driver: string;
  abstract open(options: SttSessionOptions): Promise<SttSession>;
}
