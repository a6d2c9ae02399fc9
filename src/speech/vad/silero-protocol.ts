import { SILERO_INPUT as INPUT, SILERO_WORKER_MAX_BATCH as MAX, SILERO_STATE as STATE } from './silero-model';

/**
 * The Silero VAD worker's protocol. Batches travel through shared memory, not messages: the main thread
 * fills the input and state rows of a batch of b windows, stores b in the control word and wakes the
 * worker (Atomics.notify); the worker runs the inference, writes the probabilities and next states,
 * clears the control word and posts 'done'. One batch is in flight at a time, so one region suffices
 * and nothing is copied through structured clone or allocated per batch.
 */
export interface SileroWorkerData {
  modelPath: string;
  /** Float32 regions, see sileroSharedViews. */
  shared: SharedArrayBuffer;
  /** Int32[1]: 0 idle, b > 0 run a batch of b windows, −1 exit. */
  control: SharedArrayBuffer;
  /** The thread's nice value (Linux: per thread), so that the event loop preempts it. */
  nice: number;
}

export type FromSileroWorker =
  | { type: 'ready' }
  /** The model could not load: the worker has exited. */
  | { type: 'fatal'; message: string }
  /** The batch's outputs are in shared memory. */
  | { type: 'done'; b: number }
  /** The inference threw; the outputs are not valid. */
  | { type: 'failed'; b: number; message: string };

export interface SileroSharedViews {
  /** [b, 576] rows of the batch. */
  input: Float32Array;
  /** [2, b, 128]: layer-major, laid out for the batch's b. */
  state: Float32Array;
  /** [b] */
  probabilities: Float32Array;
  /** [2, b, 128], as state. */
  next: Float32Array;
}

const SIZES = [MAX * INPUT, 2 * MAX * STATE, MAX, 2 * MAX * STATE];

export function sileroSharedMemory(): { shared: SharedArrayBuffer; control: SharedArrayBuffer } {
  const floats = SIZES.reduce((a, n) => a + n, 0);
  return {
    shared: new SharedArrayBuffer(floats * Float32Array.BYTES_PER_ELEMENT),
    control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
  };
}

export function sileroSharedViews(shared: SharedArrayBuffer): SileroSharedViews {
  let offset = 0;
  const [input, state, probabilities, next] = SIZES.map((n) => {
    const view = new Float32Array(shared, offset * Float32Array.BYTES_PER_ELEMENT, n);
    offset += n;
    return view;
  });
  return { input, state, probabilities, next };
}
