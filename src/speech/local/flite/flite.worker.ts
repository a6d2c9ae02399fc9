import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import type { FromSynthWorker } from '../synth-worker';
import { serveSynthesis } from '../synth-worker-loop';
import { isFliteVoice, NativeFlite, type FliteVoice } from './flite-native';
import { NativeLock } from './native-lock';

export interface FliteWorkerData {
  /** The libflite soname to load (a test points it at a missing one). */
  library?: string;
  /** The process-wide NativeLock's memory: libflite synthesizes on one thread at a time. */
  lock: SharedArrayBuffer;
}

const DEFAULT_VOICE: FliteVoice = 'slt';

/**
 * One flite synthesizer (libflite in process). Each unit is one synchronous `flite_text_to_wave` call,
 * made holding the process-wide lock; the voice's rate is its duration stretch (1 / rate).
 */
function main(): void {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('flite.worker must run in a worker thread');
  const post = (m: FromSynthWorker) => port.postMessage(m);
  try {
    const data = workerData as FliteWorkerData;
    const lock = new NativeLock(data.lock);
    const flite = lock.run(threadId, () => new NativeFlite(data.library));
    // Registers the default voice and pages its data in before the first caller waits for it.
    const { sampleRate } = lock.run(threadId, () => flite.synthesize('Ready.', DEFAULT_VOICE));
    serveSynthesis(port, (text, voice, rate) => {
      const name = isFliteVoice(voice) ? voice : DEFAULT_VOICE;
      const wave = lock.run(threadId, () => flite.synthesize(text, name, 1 / rate));
      if (wave.sampleRate !== sampleRate)
        throw new Error(`flite voice ${voice} speaks at ${wave.sampleRate} Hz, not ${sampleRate}`);
      return wave.pcm;
    });
    post({ type: 'ready', sampleRate });
  } catch (err) {
    post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  }
}

if (!isMainThread) main();
