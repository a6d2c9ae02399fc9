import type { Logger } from 'pino';
import { Resampler } from '../../audio/resampler';
import { DomainError } from '../../common/errors';
import { ResourcePool, type Lease } from '../../common/pool/resource-pool';
import { SpeechToText, type SttSession, type SttSessionOptions } from '../ports/speech-to-text.port';
import { ContinuousSttSession, DECODER_SAMPLE_RATE, GatedSttSession } from './local-stt-sessions';
import { PocketsphinxDecoder, type PocketsphinxDecoderOptions } from './pocketsphinx/pocketsphinx-decoder';

/**
 * Offline speech to text: pocketsphinx decoders in worker threads, leased from a bounded pool — per
 * utterance for gated sessions (the media cascade), for the whole session otherwise.
 */
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
    const expected = options.expected ?? 'free';
    let session: GatedSttSession | ContinuousSttSession;
    if (options.gated) {
      // A decoder is leased per utterance, not per session.
      session = new GatedSttSession(this.pool, expected, this.logger, resampler);
    } else {
      let lease: Lease<PocketsphinxDecoder>;
      try {
        lease = await this.pool.acquire({ signal: options.signal });
      } catch (err) {
        resampler?.dispose();
        throw err;
      }
      const continuous = new ContinuousSttSession(lease, this.logger, resampler);
      session = continuous;
      try {
        await continuous.start(expected);
      } catch (err) {
        await continuous.close();
        throw err instanceof DomainError
          ? err
          : new DomainError('PROVIDER_ERROR', 'local speech to text could not start', undefined, {
              cause: err,
            });
      }
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
