export interface VoiceSpec {
  /** Engine voice name (e.g. `slt` for flite, `en-US-JennyNeural` for Azure). */
  name: string;
  language?: string;
  /** Speaking style (Azure express-as), ignored by engines without styles. */
  style?: string;
  /** Relative rate: 1 = normal. */
  rate?: number;
}

export interface SynthesisRequest {
  /** Plain text, or SSML when `ssml` is true. */
  text: string;
  ssml?: boolean;
  voice: VoiceSpec;
  /** Output rate of the PCM16 mono chunks. */
  sampleRate: 16000 | 24000;
  signal?: AbortSignal;
}

/**
 * Synthesis as a stream of PCM16 mono chunks (any length, even number of bytes), the first as early
 * as the engine allows. Aborting the signal ends the stream promptly and frees the engine. A yielded
 * chunk is handed over: the driver never writes to that buffer again (the playout plays from it in
 * place instead of copying every reply).
 */
export abstract class TextToSpeech {
  abstract readonly driver: string;
  abstract synthesize(request: SynthesisRequest): AsyncIterable<Buffer>;
}
