import type { Logger } from 'pino';
import { bufferView, int16View } from '../../audio/pcm';
import { Resampler } from '../../audio/resampler';
import { DomainError } from '../../common/errors';
import { ResourcePool, type Lease } from '../../common/pool/resource-pool';
import {
  SpeechToText,
  type ExpectedInput,
  type SttEvent,
  type SttListener,
  type SttSession,
  type SttSessionOptions,
} from '../ports/speech-to-text.port';
import {
  PocketsphinxDecoder,
  type DecoderEvent,
  type PocketsphinxDecoderOptions,
} from './pocketsphinx/pocketsphinx-decoder';

/** The decoder's only input rate; other rates are resampled (statefully) in write(). */
const DECODER_SAMPLE_RATE = 16_000;
/** Audio is posted to the worker in batches: fewer messages than per-frame, still low latency. */
const BATCH_MS = 60;
const BATCH_SAMPLES = (DECODER_SAMPLE_RATE / 1000) * BATCH_MS;

/** Offline speech to text: pocketsphinx decoders in worker threads, leased from a bounded pool. */
export class LocalSpeechToText extends SpeechToText {
  readonly driver = 'local';

  constructor(
    private readonly pool: ResourcePool<PocketsphinxDecoder>,
    private readonly logger?: Logger,
  ) {
    super();
  }

  async open(options: SttSessionOptions): Promise<SttSession> {
    if (options.sampleRate !== DECODER_SAMPLE_RATE && options.sampleRate !== 24_000) {
      throw new DomainError(
        'BAD_REQUEST',
        `local speech to text takes 16000 or 24000 Hz audio, got ${options.sampleRate} Hz`,
        { sampleRate: options.sampleRate },
      );
    }
    if (options.language !== undefined && !/^en(-|$)/i.test(options.language)) {
      throw new DomainError(
        'NOT_AVAILABLE',
        `local speech to text only has an English model, not ${options.language}`,
        {
          language: options.language,
        },
      );
    }
    const resampler =
      options.sampleRate === DECODER_SAMPLE_RATE
        ? undefined
        : await Resampler.create(options.sampleRate, DECODER_SAMPLE_RATE);
    let lease: Lease<PocketsphinxDecoder>;
    try {
      lease = await this.pool.acquire({ signal: options.signal });
    } catch (err) {
      resampler?.dispose();
      throw err;
    }
    const session = new LocalSttSession(lease, this.logger, resampler);
    try {
      await session.start(options.expected ?? 'free');
    } catch (err) {
      await session.close();
      throw err instanceof DomainError
        ? err
        : new DomainError('PROVIDER_ERROR', 'local speech to text could not start', undefined, {
            cause: err,
          });
    }
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => void session.close();
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        session.onClosed(() => signal.removeEventListener('abort', onAbort));
      }
    }
    return session;
  }
}

class LocalSttSession implements SttSession {
  private readonly listeners: SttListener[] = [];
  private batch = new Int16Array(BATCH_SAMPLES);
  private batchBytes = Buffer.from(this.batch.buffer);
  private filled = 0; // bytes
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly onCloseCallbacks: Array<() => void> = [];
  private readonly decoder: PocketsphinxDecoder;

  constructor(
    private readonly lease: Lease<PocketsphinxDecoder>,
    private readonly logger?: Logger,
    private readonly resampler?: Resampler,
  ) {
    this.decoder = lease.resource;
  }

  async start(expected: ExpectedInput): Promise<void> {
    await this.decoder.open(expected, (event) => this.onDecoderEvent(event));
  }

  /** Copies the frame into the current batch; a full batch is transferred to the worker. */
  write(input: Buffer): void {
    if (this.closed) return;
    const frame = this.resampler ? bufferView(this.resampler.process(int16View(input))) : input;
    let offset = 0;
    const length = frame.length & ~1; // whole PCM16 samples only
    while (offset < length) {
      const n = Math.min(length - offset, this.batchBytes.length - this.filled);
      frame.copy(this.batchBytes, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.batchBytes.length) {
        this.decoder.write(this.batch);
        this.batch = new Int16Array(BATCH_SAMPLES);
        this.batchBytes = Buffer.from(this.batch.buffer);
        this.filled = 0;
      }
    }
  }

  endUtterance(): void {
    if (this.closed) return;
    this.flush();
    this.decoder.endUtterance();
  }

  setExpectedInput(expected: ExpectedInput): void {
    if (this.closed) return;
    // Audio already batched belongs to the utterance before the switch.
    this.flush();
    this.decoder.setExpected(expected);
  }

  onEvent(listener: SttListener): void {
    this.listeners.push(listener);
  }

  onClosed(callback: () => void): void {
    this.onCloseCallbacks.push(callback);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.resampler?.dispose();
    for (const callback of this.onCloseCallbacks.splice(0)) callback();
    if (this.decoder.broken) {
      this.lease.discard('pocketsphinx decoder broken');
      return;
    }
    try {
      await this.decoder.close(); // bounded by the decoder's watchdog
      this.lease.release();
    } catch (err) {
      this.logger?.warn({ err }, 'pocketsphinx decoder did not close cleanly; discarding it');
      this.lease.discard(err instanceof Error ? err.message : String(err));
    }
  }

  /** Sends the partly filled batch (a copy: the batch buffer stays ours). */
  private flush(): void {
    if (this.filled === 0) return;
    this.decoder.write(this.batch.slice(0, this.filled / 2));
    this.filled = 0;
  }

  private onDecoderEvent(event: DecoderEvent): void {
    switch (event.type) {
      case 'partial':
        this.emit({ type: 'partial', text: event.text });
        return;
      case 'final':
        this.logger?.debug(
          { decodeMs: Math.round(event.decodeMs * 10) / 10, words: event.words.length, auto: event.auto },
          'pocketsphinx final',
        );
        this.emit({
          type: 'final',
          text: event.text,
          words: event.words,
          startMs: event.startMs,
          endMs: event.endMs,
        });
        return;
      case 'broken':
        if (this.closed) return;
        this.emit({ type: 'error', error: event.error });
        void this.close();
        return;
    }
  }

  private emit(event: SttEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger?.error({ err, event: event.type }, 'speech-to-text listener threw');
      }
    }
  }
}

export interface PocketsphinxPoolOptions {
  /** Decoders alive at once; ~90 MB each, so memory bounds this (default 4). */
  max?: number;
  minIdle?: number;
  idleTimeoutMs?: number;
  acquireTimeoutMs?: number;
  createTimeoutMs?: number;
  decoder?: Omit<PocketsphinxDecoderOptions, 'logger'>;
  logger?: Logger;
}

/** Builds the decoder pool (call start() on it at boot: it fails fast when pocketsphinx is missing). */
export function createPocketsphinxPool(
  options: PocketsphinxPoolOptions = {},
): ResourcePool<PocketsphinxDecoder> {
  const createTimeoutMs = options.createTimeoutMs ?? 10_000;
  // The decoder's own start timeout terminates its worker; the pool's is only a backstop, so it is
  // longer (a pool timeout alone would leave a late worker running outside the pool).
  const readyTimeoutMs = Math.min(options.decoder?.readyTimeoutMs ?? createTimeoutMs, createTimeoutMs);
  return new ResourcePool<PocketsphinxDecoder>({
    name: 'pocketsphinx',
    create: () => PocketsphinxDecoder.create({ ...options.decoder, readyTimeoutMs, logger: options.logger }),
    destroy: (decoder) => decoder.dispose(),
    validate: (decoder) => !decoder.broken,
    max: options.max ?? 4,
    minIdle: options.minIdle ?? 1,
    idleTimeoutMs: options.idleTimeoutMs ?? 5 * 60_000,
    acquireTimeoutMs: options.acquireTimeoutMs ?? 5_000,
    createTimeoutMs: readyTimeoutMs + 1_000,
  });
}
