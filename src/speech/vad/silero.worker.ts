import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SILERO_INPUT as INPUT, SILERO_STATE as STATE, SileroModel } from './silero-model';
import { sileroSharedViews, type FromSileroWorker, type SileroWorkerData } from './silero-protocol';

/**
 * The Silero VAD worker: owns a model session and runs the batches the main thread hands over in shared
 * memory (see silero-protocol.ts). It sleeps in Atomics.wait between batches, so it needs no event loop.
 */
function main(): void {
  const data = workerData as SileroWorkerData;
  const post = (message: FromSileroWorker) => parentPort!.postMessage(message);
  let model: SileroModel;
  try {
    model = new SileroModel(data.modelPath);
  } catch (err) {
    post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  try {
    // pid 0 is this thread alone (Linux keeps a nice value per thread); raising it needs no privilege.
    setPriority(0, data.nice);
  } catch {
    // Not permitted or not supported here: the thread runs at the process's priority.
  }
  const control = new Int32Array(data.control);
  const views = sileroSharedViews(data.shared);
  post({ type: 'ready' });
  for (;;) {
    Atomics.wait(control, 0, 0);
    const b = Atomics.load(control, 0);
    if (b < 0) break;
    let message: FromSileroWorker;
    try {
      const feeds = model.feeds(b);
      feeds.input.set(views.input.subarray(0, b * INPUT));
      feeds.state.set(views.state.subarray(0, 2 * b * STATE));
      const { probabilities, next } = model.run(b);
      views.probabilities.set(probabilities.subarray(0, b));
      views.next.set(next.subarray(0, 2 * b * STATE));
      message = { type: 'done', b };
    } catch (err) {
      message = { type: 'failed', b, message: err instanceof Error ? err.message : String(err) };
    }
    // Idle again, unless the owner asked for an exit meanwhile (−1 must survive).
    Atomics.compareExchange(control, 0, b, 0);
    post(message);
  }
  model.dispose();
}

main();
