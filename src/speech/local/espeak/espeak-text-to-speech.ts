import type { ResourcePool } from '../../../common/pool/resource-pool';
import { workerEntry } from '../../../common/worker-entry';
import type { SynthesisRequest } from '../../ports';
import { createSynthPool, SynthEngine, WorkerTextToSpeech } from '../synth-worker';

/** One espeak-ng worker thread (~90 MB). */
export type EspeakEngine = SynthEngine;

export function createEspeakPool(
  options: { max?: number; minIdle?: number } = {},
): ResourcePool<EspeakEngine> {
  return createSynthPool(
    {
      label: 'espeak-ng',
      entry: workerEntry(__dirname, 'espeak.worker', __filename),
      startTimeoutMs: 10_000,
    },
    { name: 'espeak-ng', max: options.max ?? 2, minIdle: options.minIdle ?? 1 },
  );
}

/**
 * The npm-only embedded TTS (espeak-ng compiled to WASM, 22.05 kHz): used when Debian's flite is not
 * installed. Robotic but fast (~1 ms to first audio warm) and needs no system package. Engines are
 * worker threads leased from a pool; each sentence is resampled to the requested rate as it arrives.
 */
export class EspeakTextToSpeech extends WorkerTextToSpeech {
  protected readonly label = 'espeak-ng';

  protected voiceFor(request: SynthesisRequest): string {
    return request.voice.language?.toLowerCase() ?? 'en-us';
  }
}
