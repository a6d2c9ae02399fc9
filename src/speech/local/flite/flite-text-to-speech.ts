import type { ResourcePool } from '../../../common/pool/resource-pool';
import { workerEntry } from '../../../common/worker-entry';
import type { SynthesisRequest } from '../../ports';
import { createSynthPool, SynthEngine, WorkerTextToSpeech } from '../synth-worker';
import { isFliteVoice } from './flite-native';
import { NativeLock } from './native-lock';
import type { FliteWorkerData } from './flite.worker';

export type FliteEngine = SynthEngine;

export interface FlitePoolOptions {
  max?: number;
  minIdle?: number;
  /** The libflite soname (tests point it at a missing library to exercise the fallback). */
  library?: string;
  /** A unit taking longer than this marks the engine hung: it is terminated and replaced. */
  unitTimeoutMs?: number;
}

/**
 * libflite's state is per process, so every flite worker of the process shares one lock (see
 * NativeLock); module state because the library it guards is module state too.
 */
const processLock = NativeLock.create();

/** The lock every libflite user of this process must hold (tests that call libflite directly, too). */
export function fliteProcessLock(): NativeLock {
  return processLock;
}

export function createFlitePool(options: FlitePoolOptions = {}): ResourcePool<FliteEngine> {
  const entry = workerEntry(__dirname, 'flite.worker', __filename);
  const workerData: FliteWorkerData = { library: options.library, lock: processLock.buffer };
  return createSynthPool(
    {
      label: 'flite',
      entry: { ...entry, workerData },
      startTimeoutMs: 10_000,
      silenceTimeoutMs: options.unitTimeoutMs ?? 10_000,
      // A worker that died holding the lock (terminated as hung) must not stall the others.
      onExit: (threadId) => processLock.release(threadId),
    },
    { name: 'flite', max: options.max ?? 4, minIdle: options.minIdle ?? 2 },
  );
}

/**
 * The default embedded TTS: Debian's flite (native 16 kHz), called in process through libflite in
 * worker threads. The first clause is synthesized alone, so the caller hears it after 10–40 ms while
 * the rest is synthesized; the CLI cost 15–20 ms more per unit (process start, voice load, temp file).
 */
export class FliteTextToSpeech extends WorkerTextToSpeech {
  protected readonly label = 'flite';

  protected voiceFor(request: SynthesisRequest): string {
    return isFliteVoice(request.voice.name) ? request.voice.name : 'slt';
  }
}
