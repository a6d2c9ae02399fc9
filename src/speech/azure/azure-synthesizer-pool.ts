import { Connection, SpeechSynthesizer } from 'microsoft-cognitiveservices-speech-sdk';
import type { Logger } from 'pino';
import { DomainError } from '../../common/errors';
import { ResourcePool } from '../../common/pool/resource-pool';
import {
  buildSpeechConfig,
  configureSynthesis,
  describeEndpoint,
  PEER_SERVICE,
  type AzureSpeechConnectionOptions,
} from './azure-speech-config';

/** A synthesizer whose WebSocket was opened ahead of its first request. */
export interface PooledSynthesizer {
  readonly synthesizer: SpeechSynthesizer;
  readonly connection: Connection;
  /** Set by the Connection's `disconnected` event (Azure closes idle sockets): not worth handing out. */
  disconnected: boolean;
}

export interface AzureSynthesizerPoolOptions extends AzureSpeechConnectionOptions {
  sampleRate: 16000 | 24000;
  max: number;
  minIdle: number;
  /** Bound on opening one synthesizer's connection. */
  connectMs: number;
  /** Default bound on waiting for a free synthesizer. */
  acquireTimeoutMs: number;
  idleTimeoutMs?: number;
  logger: Logger;
  scrub: (text: string) => string;
}

/** Azure closes idle synthesis sockets after a few minutes: a spare one older than this is not kept. */
export const SYNTHESIZER_IDLE_TIMEOUT_MS = 60_000;

/** Bound on closing a synthesizer, so a stuck SDK dispose cannot hold up shutdown. */
const CLOSE_TIMEOUT_MS = 2_000;

/** No-op handler: the SDK skips audio events only when unset, which its typings do not allow. */
export const IGNORE_AUDIO: SpeechSynthesizer['synthesizing'] = () => undefined;

export const synthesizerPoolName = (sampleRate: 16000 | 24000) => `azure-tts-${sampleRate / 1000}k`;

/**
 * Pre-connected synthesizers for one output rate (the rate is part of the connection's speech.config,
 * so each rate needs its own). create() resolves only once the WebSocket is open.
 */
export function createSynthesizerPool(options: AzureSynthesizerPoolOptions): ResourcePool<PooledSynthesizer> {
  const { logger, scrub } = options;
  return new ResourcePool<PooledSynthesizer>({
    name: synthesizerPoolName(options.sampleRate),
    create: () => connectSynthesizer(options),
    destroy: (entry) => closeSynthesizer(entry, logger, scrub),
    validate: (entry) => !entry.disconnected,
    max: options.max,
    minIdle: options.minIdle,
    idleTimeoutMs: options.idleTimeoutMs ?? SYNTHESIZER_IDLE_TIMEOUT_MS,
    acquireTimeoutMs: options.acquireTimeoutMs,
    // Backstop only: connectSynthesizer bounds itself (and closes what it opened).
    createTimeoutMs: options.connectMs + 1_000,
  });
}

async function connectSynthesizer(options: AzureSynthesizerPoolOptions): Promise<PooledSynthesizer> {
  const config = buildSpeechConfig(options);
  configureSynthesis(config, options.sampleRate);
  // null: no speaker output (undefined would try the default speaker in a browser).
  const synthesizer = new SpeechSynthesizer(config, null);
  const connection = Connection.fromSynthesizer(synthesizer);
  const entry: PooledSynthesizer = { synthesizer, connection, disconnected: false };
  connection.disconnected = () => {
    entry.disconnected = true;
  };
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DomainError(
              'PROVIDER_TIMEOUT',
              `Azure Speech: no connection within ${options.connectMs} ms`,
              {
                provider: PEER_SERVICE,
              },
            ),
          ),
        options.connectMs,
      );
      connection.openConnection(resolve, (e) =>
        reject(
          // The SDK's message carries the URL, and with it the key: scrub before it reaches pool stats.
          new DomainError(
            'PROVIDER_ERROR',
            `Azure Speech connection failed: ${options.scrub(describeSdkError(e))}`,
            {
              provider: PEER_SERVICE,
            },
          ),
        ),
      );
    });
  } catch (err) {
    await closeSynthesizer(entry, options.logger, options.scrub);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  options.logger.debug(
    {
      endpoint: describeEndpoint(options),
      sampleRate: options.sampleRate,
      connectMs: Date.now() - started,
    },
    'azure tts synthesizer connected',
  );
  return entry;
}

function closeSynthesizer(
  entry: PooledSynthesizer,
  logger: Logger,
  scrub: (t: string) => string,
): Promise<void> {
  entry.synthesizer.synthesizing = IGNORE_AUDIO;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      entry.synthesizer.close(done, (e) => {
        logger.debug({ reason: scrub(String(e)) }, 'tts close failed');
        done();
      });
    } catch {
      done(); // already disposed
    }
  });
}

/** The SDK rejects with strings, Errors or (for endpoint URLs) bare event objects that print as "[object Object]". */
function describeSdkError(e: unknown): string {
  if (typeof e === 'string') return e.replace(/\s+/g, ' ');
  if (e instanceof Error) return e.message;
  const json = JSON.stringify(e);
  return json && json !== '{}' ? json : 'no details from the Speech SDK';
}
