import { parentPort, workerData } from 'node:worker_threads';
import type { FromSileroWorker, SileroWorkerData } from '../../src/speech/vad/silero-protocol';

/**
 * A Silero VAD worker that breaks, for the owner's failure handling: argv[2] says how.
 * `fatal`: reports that its model cannot load. `exit`: exits when its first batch arrives (a crash).
 * `hang`: never answers a batch.
 */
const fault = process.argv[2];
const post = (m: FromSileroWorker) => parentPort!.postMessage(m);
const control = new Int32Array((workerData as SileroWorkerData).control);
if (fault === 'fatal') {
  post({ type: 'fatal', message: 'model file is corrupt' });
} else {
  post({ type: 'ready' });
  Atomics.wait(control, 0, 0);
  if (fault === 'exit') process.exit(3);
  // 'hang': stuck (as in native code) until terminated.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
