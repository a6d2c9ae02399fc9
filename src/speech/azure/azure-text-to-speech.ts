import { SpanKind } from '@opentelemetry/api';
import { ResultReason, type SpeechSynthesisResult } from 'microsoft-cognitiveservices-speech-sdk';
import pino, { type Logger } from 'pino';
import { DomainError, isDomainError } from '../../common/errors';
import type { Lease, ResourcePool } from '../../common/pool/resource-pool';
import { recordSpanError, startSpan } from '../../telemetry/spans';
import { TextToSpeech, type SynthesisRequest, type VoiceSpec } from '../ports/text-to-speech.port';
import {
  buildSpeechConfig,
  cancellationError,
  describeEndpoint,
  PEER_SERVICE,
  scrubber,
  type AzureSpeechConnectionOptions,
} from './azure-speech-config';
import { createSynthesizerPool, IGNORE_AUDIO, type PooledSynthesizer } from './azure-synthesizer-pool';

export interface AzureTtsTimeouts {
  /** From the request to the first audio chunk (includes waiting for a synthesizer and connecting). */
  firstChunkMs: number;
  /** Longest gap between two chunks, and between the last chunk and completion. */
  idleMs: number;
  /** Whole synthesis. */
  totalMs: number;
  /** Opening one synthesizer's WebSocket (warm-up or on demand). */
  connectMs: number;
}

export interface AzureTtsPoolSettings {
  /** Synthesizers alive at most per output rate. */
  max: number;
  /** Pre-connected synthesizers kept for the warm rate. */
  minIdle: number;
  /** Spare synthesizers above minIdle are closed after this long unused. */
  idleTimeoutMs?: number;
}

export interface AzureTextToSpeechOptions extends AzureSpeechConnectionOptions {
  /** xml:lang when the voice names none and its name carries no locale. */
  defaultLanguage?: string;
  timeouts?: Partial<AzureTtsTimeouts>;
  logger?: Logger;
  /** The media rate: its pool keeps `pool.minIdle` synthesizers connected once start() has run. */
  sampleRate?: 16000 | 24000;
  pool?: Partial<AzureTtsPoolSettings>;
}

type SampleRate = SynthesisRequest['sampleRate'];

/** Where the SDK stores a cancellation's error code name on a result. */
const CANCELLATION_CODE_PROPERTY = 'CancellationErrorCode';

export const DEFAULT_TTS_TIMEOUTS: AzureTtsTimeouts = {
  firstChunkMs: 5000,
  idleMs: 5000,
  totalMs: 60_000,
  connectMs: 5000,
};

export const DEFAULT_TTS_POOL: AzureTtsPoolSettings = { max: 32, minIdle: 2 };

/**
 * Text-to-speech through Azure Speech, streamed from the SDK's `synthesizing` events. Synthesizers are
 * leased from a pool of pre-connected ones (one pool per output rate, since the rate is fixed per
 * connection), so a sentence does not pay a WebSocket handshake. A synthesis that completes gives its
 * synthesizer back; one that is aborted, fails, times out or is abandoned discards it, since the SDK
 * cannot stop a synthesis in flight and keep the connection clean.
 */
export class AzureTextToSpeech extends TextToSpeech {
  readonly driver = 'azure';
  private readonly timeouts: AzureTtsTimeouts;
  private readonly logger: Logger;
  private readonly scrub: (text: string) => string;
  private readonly ratePools: Map<SampleRate, ResourcePool<PooledSynthesizer>>;
  private readonly warmRate: SampleRate | undefined;
  private readonly started = new Set<SampleRate>();
  private configProblem: DomainError | null | undefined;

  constructor(private readonly options: AzureTextToSpeechOptions) {
    super();
    this.timeouts = { ...DEFAULT_TTS_TIMEOUTS, ...options.timeouts };
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'azure-tts' });
    this.scrub = scrubber(options.key);
    this.warmRate = options.sampleRate;
    const settings = { ...DEFAULT_TTS_POOL, ...options.pool };
    // Both pools exist from the start so /ready and /api/v1/pools list them; only the media rate's keeps
    // warm spares (minIdle 0 for the other: the pool refills minIdle after every discard, started or not).
    this.ratePools = new Map(
      ([16000, 24000] as const).map((sampleRate) => [
        sampleRate,
        createSynthesizerPool({
          key: options.key,
          region: options.region,
          endpoint: options.endpoint,
          sampleRate,
          max: settings.max,
          minIdle: sampleRate === this.warmRate ? Math.min(settings.minIdle, settings.max) : 0,
          idleTimeoutMs: settings.idleTimeoutMs,
          connectMs: this.timeouts.connectMs,
          acquireTimeoutMs: this.timeouts.firstChunkMs,
          logger: this.logger,
          scrub: this.scrub,
        }),
      ]),
    );
  }

  /** One pool per output rate (16 and 24 kHz). */
  get pools(): ResourcePool<PooledSynthesizer>[] {
    return [...this.ratePools.values()];
  }

  /** Connects the warm rate's spare synthesizers; rejects if the first cannot connect (bad key, no network). */
  async start(): Promise<void> {
    if (this.warmRate === undefined || this.started.has(this.warmRate)) return;
    this.started.add(this.warmRate);
    await this.ratePools.get(this.warmRate)!.start();
  }

  /** Closes every synthesizer (leased ones when their synthesis ends). */
  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close()));
  }

  synthesize(request: SynthesisRequest): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this.run(request) };
  }

  private async *run(request: SynthesisRequest): AsyncGenerator<Buffer, void, undefined> {
    const { signal } = request;
    if (signal?.aborted) return;
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
    let lease: Lease<PooledSynthesizer> | undefined;
    // Until the SSML is sent the synthesizer is clean, whatever happens to the request.
    let spoke = false;
    let failure: string | undefined;
    let leaseEnded = false;
    const endLease = (reusable: boolean) => {
      if (!lease || leaseEnded) return;
      leaseEnded = true;
      // Per-request handler off before anyone else can lease it: no audio reaches an old request.
      lease.resource.synthesizer.synthesizing = IGNORE_AUDIO;
      if (reusable) lease.release();
      else lease.discard(failure);
    };
    const onAbort = () => {
      endLease(!spoke); // closes the socket now, not when the consumer next reads
      queue.finish();
    };

    let bytes = 0;
    let firstChunkMs: number | undefined;
    let acquireMs: number | undefined;
    let outcome: 'completed' | 'aborted' | 'failed' | 'abandoned' = 'abandoned';
    try {
      lease = await this.acquire(request.sampleRate, signal);
      acquireMs = Date.now() - started;
      if (lease && !signal?.aborted) {
        signal?.addEventListener('abort', onAbort, { once: true });
        const { synthesizer } = lease.resource;
        synthesizer.synthesizing = (_s, e) => queue.push(Buffer.from(e.result.audioData));
        const ssml = request.ssml
          ? request.text
          : buildSsml(request.text, request.voice, this.options.defaultLanguage);
        spoke = true;
        synthesizer.speakSsmlAsync(
          ssml,
          (result) => queue.settle(this.resultError(result)),
          (e) => queue.settle(this.providerError(e)),
        );
        for (;;) {
          // Chunks queued before an abort are dropped: the caller has moved on (barge-in).
          if (signal?.aborted) break;
          const elapsed = Date.now() - started;
          const remaining = this.timeouts.totalMs - elapsed;
          const wait =
            firstChunkMs === undefined ? this.timeouts.firstChunkMs - elapsed : this.timeouts.idleMs;
          const next = await queue.next(Math.max(0, Math.min(wait, remaining)));
          if (next === 'timeout') {
            const what =
              remaining <= wait ? 'completion' : firstChunkMs === undefined ? 'first audio' : 'next audio';
            const ms =
              remaining <= wait
                ? this.timeouts.totalMs
                : firstChunkMs === undefined
                  ? this.timeouts.firstChunkMs
                  : this.timeouts.idleMs;
            throw new DomainError('PROVIDER_TIMEOUT', `Azure Speech synthesis: no ${what} within ${ms} ms`, {
              provider: PEER_SERVICE,
            });
          }
          if (next === 'end') break;
          firstChunkMs ??= Date.now() - started;
          bytes += next.length;
          yield next;
        }
      }
      outcome = signal?.aborted ? 'aborted' : 'completed';
    } catch (err) {
      outcome = 'failed';
      failure = err instanceof Error ? err.message : String(err);
      recordSpanError(span, err);
      const fields = isDomainError(err) ? { code: err.code, reason: err.details?.reason } : { err };
      this.logger.warn(fields, 'azure tts synthesis failed');
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      endLease(outcome === 'completed' || !spoke);
      span.setAttributes({ 'audio.bytes': bytes, 'speech.outcome': outcome });
      if (firstChunkMs !== undefined) span.setAttribute('speech.first_chunk_ms', firstChunkMs);
      if (acquireMs !== undefined) span.setAttribute('speech.acquire_ms', acquireMs);
      span.end();
      this.logger.debug(
        {
          endpoint: describeEndpoint(this.options),
          outcome,
          bytes,
          acquireMs,
          firstChunkMs,
          totalMs: Date.now() - started,
        },
        'azure tts synthesis finished',
      );
    }
  }

  /**
   * A synthesizer for the rate, waiting at most the first-chunk budget; undefined when the request was
   * aborted meanwhile. Pool errors become the driver's provider errors.
   */
  private async acquire(
    sampleRate: SampleRate,
    signal: AbortSignal | undefined,
  ): Promise<Lease<PooledSynthesizer> | undefined> {
    this.checkConfig();
    const pool = this.ratePools.get(sampleRate);
    if (!pool) throw new DomainError('BAD_REQUEST', `unsupported sample rate ${String(sampleRate)}`);
    if (!this.started.has(sampleRate)) {
      // Arms idle eviction; the warm rate also connects its spares (it was not warmed at boot).
      this.started.add(sampleRate);
      pool
        .start()
        .catch((err: unknown) =>
          this.logger.warn(
            { reason: err instanceof Error ? err.message : String(err) },
            'azure tts warm-up failed',
          ),
        );
    }
    try {
      return await pool.acquire({ signal, timeoutMs: this.timeouts.firstChunkMs });
    } catch (err) {
      if (signal?.aborted) return undefined;
      if (!isDomainError(err)) throw err;
      const details = { provider: PEER_SERVICE, reason: err.message };
      if (err.code === 'TIMEOUT') {
        throw new DomainError(
          'PROVIDER_TIMEOUT',
          `Azure Speech synthesis: no first audio within ${this.timeouts.firstChunkMs} ms (no synthesizer free or connected)`,
          details,
        );
      }
      if (err.code === 'PROVIDER_ERROR') {
        throw new DomainError('PROVIDER_ERROR', 'Azure Speech synthesis: could not connect', details);
      }
      throw err;
    }
  }

  /** A missing key or region is a configuration error, not a provider failure: say so once, plainly. */
  private checkConfig(): void {
    if (this.configProblem === undefined) {
      try {
        buildSpeechConfig(this.options);
        this.configProblem = null;
      } catch (err) {
        this.configProblem = isDomainError(err)
          ? err
          : new DomainError('NOT_AVAILABLE', `Azure Speech configuration: ${String(err)}`);
      }
    }
    if (this.configProblem) throw this.configProblem;
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
