import { SpanKind } from '@opentelemetry/api';
import {
  ResultReason,
  SpeechSynthesizer,
  type SpeechSynthesisResult,
} from 'microsoft-cognitiveservices-speech-sdk';
import pino, { type Logger } from 'pino';
import { DomainError, isDomainError } from '../../common/errors';
import { recordSpanError, startSpan } from '../../telemetry/spans';
import { TextToSpeech, type SynthesisRequest, type VoiceSpec } from '../ports/text-to-speech.port';
import {
  buildSpeechConfig,
  cancellationError,
  configureSynthesis,
  describeEndpoint,
  PEER_SERVICE,
  scrubber,
  type AzureSpeechConnectionOptions,
} from './azure-speech-config';

export interface AzureTtsTimeouts {
  /** From the request to the first audio chunk (includes connecting). */
  firstChunkMs: number;
  /** Longest gap between two chunks, and between the last chunk and completion. */
  idleMs: number;
  /** Whole synthesis. */
  totalMs: number;
}

export interface AzureTextToSpeechOptions extends AzureSpeechConnectionOptions {
  /** xml:lang when the voice names none and its name carries no locale. */
  defaultLanguage?: string;
  timeouts?: Partial<AzureTtsTimeouts>;
  logger?: Logger;
}

/** Where the SDK stores a cancellation's error code name on a result. */
const CANCELLATION_CODE_PROPERTY = 'CancellationErrorCode';

export const DEFAULT_TTS_TIMEOUTS: AzureTtsTimeouts = { firstChunkMs: 5000, idleMs: 5000, totalMs: 60_000 };

/**
 * Text-to-speech through Azure Speech, streamed from the SDK's `synthesizing` events. One synthesizer
 * (one WebSocket) per request: aborting a synthesis means closing its synthesizer, since the SDK cannot
 * stop a synthesis in flight and keep the connection.
 */
export class AzureTextToSpeech extends TextToSpeech {
  readonly driver = 'azure';
  private readonly timeouts: AzureTtsTimeouts;
  private readonly logger: Logger;
  private readonly scrub: (text: string) => string;

  constructor(private readonly options: AzureTextToSpeechOptions) {
    super();
    this.timeouts = { ...DEFAULT_TTS_TIMEOUTS, ...options.timeouts };
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'azure-tts' });
    this.scrub = scrubber(options.key);
  }

  synthesize(request: SynthesisRequest): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this.run(request) };
  }

  private async *run(request: SynthesisRequest): AsyncGenerator<Buffer, void, undefined> {
    const { signal } = request;
    if (signal?.aborted) return;
    const config = buildSpeechConfig(this.options);
    configureSynthesis(config, request.sampleRate);
    // null: no speaker output (undefined would try the default speaker in a browser).
    const synthesizer = new SpeechSynthesizer(config, null);
    const span = startSpan('azure-speech synthesize', SpanKind.CLIENT, {
      attributes: {
        'peer.service': PEER_SERVICE,
        'speech.voice': request.voice.name,
        'audio.sample_rate': request.sampleRate,
        'speech.chars': request.text.length,
      },
    });
    const started = Date.now();
    const queue = new ChunkQueue();
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      synthesizer.close(undefined, (e) =>
        this.logger.debug({ reason: this.scrub(String(e)) }, 'tts close failed'),
      );
    };
    const onAbort = () => {
      close();
      queue.finish();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    synthesizer.synthesizing = (_s, e) => queue.push(Buffer.from(e.result.audioData));
    const ssml = request.ssml
      ? request.text
      : buildSsml(request.text, request.voice, this.options.defaultLanguage);
    synthesizer.speakSsmlAsync(
      ssml,
      (result) => queue.settle(this.resultError(result)),
      (e) => queue.settle(this.providerError(e)),
    );

    let bytes = 0;
    let firstChunkMs: number | undefined;
    let outcome: 'completed' | 'aborted' | 'failed' | 'abandoned' = 'abandoned';
    try {
      for (;;) {
        // Chunks queued before an abort are dropped: the caller has moved on (barge-in).
        if (signal?.aborted) break;
        const remaining = this.timeouts.totalMs - (Date.now() - started);
        const wait = firstChunkMs === undefined ? this.timeouts.firstChunkMs : this.timeouts.idleMs;
        const next = await queue.next(Math.max(0, Math.min(wait, remaining)));
        if (next === 'timeout') {
          const what =
            remaining <= wait ? 'completion' : firstChunkMs === undefined ? 'first audio' : 'next audio';
          const ms = remaining <= wait ? this.timeouts.totalMs : wait;
          throw new DomainError('PROVIDER_TIMEOUT', `Azure Speech synthesis: no ${what} within ${ms} ms`, {
            provider: PEER_SERVICE,
          });
        }
        if (next === 'end') break;
        firstChunkMs ??= Date.now() - started;
        bytes += next.length;
        yield next;
      }
      outcome = signal?.aborted ? 'aborted' : 'completed';
    } catch (err) {
      outcome = 'failed';
      recordSpanError(span, err);
      const fields = isDomainError(err) ? { code: err.code, reason: err.details?.reason } : { err };
      this.logger.warn(fields, 'azure tts synthesis failed');
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      close();
      span.setAttributes({ 'audio.bytes': bytes, 'speech.outcome': outcome });
      if (firstChunkMs !== undefined) span.setAttribute('speech.first_chunk_ms', firstChunkMs);
      span.end();
      this.logger.debug(
        {
          endpoint: describeEndpoint(this.options),
          outcome,
          bytes,
          firstChunkMs,
          totalMs: Date.now() - started,
        },
        'azure tts synthesis finished',
      );
    }
  }

  /** Failures arrive through the success callback as reason Canceled. */
  private resultError(result: SpeechSynthesisResult): DomainError | undefined {
    if (result.reason === ResultReason.SynthesizingAudioCompleted) return undefined;
    if (result.reason === ResultReason.Canceled) {
      // CancellationDetails.fromResult loses the code for synthesis results (SDK 1.52): read the property.
      const code = result.properties?.getProperty(CANCELLATION_CODE_PROPERTY, undefined);
      return cancellationError('synthesis', code, this.scrub(result.errorDetails ?? ''));
    }
    return new DomainError('PROVIDER_ERROR', `Azure Speech synthesis ended with reason ${result.reason}`, {
      provider: PEER_SERVICE,
    });
  }

  private providerError(err: unknown): DomainError {
    const reason = this.scrub(err instanceof Error ? err.message : String(err));
    return new DomainError('PROVIDER_ERROR', 'Azure Speech synthesis failed', {
      provider: PEER_SERVICE,
      reason,
    });
  }
}

/**
 * Hands chunks from SDK callbacks to one consumer without backpressure (the SDK cannot be paused; a
 * synthesis is seconds of audio). Odd bytes are carried so every chunk holds whole PCM16 samples.
 */
class ChunkQueue {
  private readonly chunks: Buffer[] = [];
  private carry: Buffer | undefined;
  private ended = false;
  private error: DomainError | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    if (this.ended) return;
    let data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    if (data.length % 2 === 1) {
      this.carry = data.subarray(data.length - 1);
      data = data.subarray(0, data.length - 1);
    }
    if (data.length > 0) this.chunks.push(data);
    this.notify();
  }

  /** The synthesis is over: with an error, or cleanly once the queued chunks are read. */
  settle(error: DomainError | undefined): void {
    if (this.ended) return;
    this.error = error;
    this.finish();
  }

  /** Stops accepting chunks; what is queued is still read (unless settle() gave an error). */
  finish(): void {
    this.ended = true;
    this.notify();
  }

  async next(timeoutMs: number): Promise<Buffer | 'end' | 'timeout'> {
    for (;;) {
      if (this.error) throw this.error;
      const chunk = this.chunks.shift();
      if (chunk) return chunk;
      if (this.ended) return 'end';
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.wake = undefined;
      if (!woke) return 'timeout';
    }
  }

  private notify(): void {
    this.wake?.();
  }
}

export function buildSsml(text: string, voice: VoiceSpec, defaultLanguage = 'en-US'): string {
  const lang = voice.language ?? /^[a-z]{2,3}-[A-Z]{2}/.exec(voice.name)?.[0] ?? defaultLanguage;
  let body = escapeXml(text);
  const rate = prosodyRate(voice.rate);
  if (rate) body = `<prosody rate='${rate}'>${body}</prosody>`;
  if (voice.style) body = `<mstts:express-as style='${escapeXml(voice.style)}'>${body}</mstts:express-as>`;
  return (
    `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xmlns:mstts='http://www.w3.org/2001/mstts' ` +
    `xml:lang='${escapeXml(lang)}'><voice name='${escapeXml(voice.name)}'>${body}</voice></speak>`
  );
}

/** Relative rate (1 = normal) as Azure's percentage form, within the 0.5×–2× it accepts. */
function prosodyRate(rate: number | undefined): string | undefined {
  if (rate === undefined || !Number.isFinite(rate) || rate === 1) return undefined;
  const pct = Math.round((Math.min(2, Math.max(0.5, rate)) - 1) * 100);
  return pct === 0 ? undefined : `${pct > 0 ? '+' : ''}${pct}%`;
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

// Control characters other than tab/CR/LF are invalid in XML 1.0: the service would reject the SSML.
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!).replace(XML_INVALID, '');
}
