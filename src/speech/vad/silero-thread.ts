import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DomainError } from '../../common/errors';
import { workerEntry } from '../../common/worker-entry';
import {
  sileroSharedMemory,
  sileroSharedViews,
  type FromSileroWorker,
  type SileroSharedViews,
  type SileroWorkerData,
} from './silero-protocol';

/**
 * The worker's nice value: when the event loop wakes (a pacing timer, a socket read) while a batch
 * runs, the kernel lets it in first. Measured at 300–400 Silero calls on one core (jitter p99 of the
 * windows): nice 0 5.4–23 ms, nice 10 4.5–5.5, nice 19 3.9–9.8; the VAD's delay was the same for all
 * three (p99 ~15 ms at 300). 19 would also give way to every other process on the host.
 */
const WORKER_NICE = 10;

export interface SileroThreadOptions {
  modelPath: string;
  /** Bound on the worker's start (thread, runtime and model load). */
  startTimeoutMs?: number;
  /** A batch the worker has not answered within this is a hung worker: it is failed and terminated. */
  stallTimeoutMs?: number;
  /** The worker thread's nice value (0–19). */
  nice?: number;
  /** Another worker script and its arguments (tests); the default is silero.worker next to this file. */
  entry?: { file: string; execArgv: string[]; argv?: string[] };
}

/**
 * Main-thread handle of the Silero worker. Inference (1–1.5 ms per batch of 20–30 windows) then never
 * holds the event loop, so outbound audio pacing and socket reads are not delayed by it: on a shared
 * core the kernel preempts the worker when a timer wakes the main thread.
 */
export class SileroThread {
  readonly views: SileroSharedViews;
  private readonly control: Int32Array;
  private inFlight: { dispatchedAt: number; onDone: (ok: boolean) => void } | undefined;
  private failure: string | undefined;
  private failureListener: ((reason: string) => void) | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private disposing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    memory: { shared: SharedArrayBuffer; control: SharedArrayBuffer },
    private readonly stallTimeoutMs: number,
  ) {
    this.views = sileroSharedViews(memory.shared);
    this.control = new Int32Array(memory.control);
    worker.on('message', (m: FromSileroWorker) => {
      if (m.type !== 'done' && m.type !== 'failed') return;
      const pending = this.inFlight;
      this.inFlight = undefined;
      pending?.onDone(m.type === 'done');
    });
    worker.on('error', (err) => this.fail(`Silero VAD worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.fail(`Silero VAD worker exited (${code})`));
    this.watchdog = setInterval(
      () => {
        // Only the worker's own delay counts: a batch it has answered (control word back to idle) may
        // wait for a busy event loop to take its message.
        const working = Atomics.load(this.control, 0) > 0;
        if (
          working &&
          this.inFlight &&
          performance.now() - this.inFlight.dispatchedAt > this.stallTimeoutMs
        ) {
          this.fail(`Silero VAD worker did not answer a batch within ${this.stallTimeoutMs} ms`);
        }
      },
      Math.max(10, stallTimeoutMs / 2),
    ).unref();
  }

  static start(options: SileroThreadOptions): Promise<SileroThread> {
    const startTimeoutMs = options.startTimeoutMs ?? 10_000;
    const entry: NonNullable<SileroThreadOptions['entry']> =
      options.entry ?? workerEntry(__dirname, 'silero.worker', __filename);
    const memory = sileroSharedMemory();
    const workerData: SileroWorkerData = {
      modelPath: options.modelPath,
      nice: options.nice ?? WORKER_NICE,
      ...memory,
    };
    const worker = new Worker(entry.file, { execArgv: entry.execArgv, argv: entry.argv, workerData });
    // The worker never keeps the process alive; dispose() ends it.
    worker.unref();
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromSileroWorker) => {
        if (m.type !== 'ready') return failed(m.type === 'fatal' ? m.message : `unexpected '${m.type}'`);
        settle();
        resolve(new SileroThread(worker, memory, options.stallTimeoutMs ?? 2_000));
      };
      const onError = (err: Error) => failed(err.message);
      const onExit = (code: number) => failed(`exited (${code})`);
      const timer = setTimeout(() => failed(`no answer within ${startTimeoutMs} ms`), startTimeoutMs);
      // Only these listeners go: removeAllListeners() would also drop the Worker's own newListener
      // hook, which starts its message port when a 'message' listener is added (no answer ever came).
      const settle = () => {
        clearTimeout(timer);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      const failed = (reason: string) => {
        settle();
        void worker.terminate();
        reject(new DomainError('PROVIDER_ERROR', `Silero VAD worker failed to start: ${reason}`));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }

  /** A batch is in the worker. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Why the worker is unusable, if it is. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** Told once if the worker dies or hangs, before the batch in flight (if any) is failed. */
  onFailure(listener: (reason: string) => void): void {
    this.failureListener = listener;
  }

  /**
   * Runs the batch of b windows whose rows are in `views.input` and `views.state`; `onDone(true)` once
   * `views.probabilities` and `views.next` hold its outputs, `onDone(false)` if it failed. One at a time.
   */
  submit(b: number, onDone: (ok: boolean) => void): void {
    if (this.failure || this.inFlight) {
      const reason = this.failure ? 'the worker failed' : 'a batch is in flight';
      throw new DomainError('INTERNAL', `Silero VAD batch refused: ${reason}`);
    }
    this.inFlight = { dispatchedAt: performance.now(), onDone };
    Atomics.store(this.control, 0, b);
    Atomics.notify(this.control, 0);
  }

  /** Asks the worker to exit between batches; terminates it if it has not within `graceMs`. */
  dispose(graceMs = 2_000): Promise<void> {
    this.disposing ??= new Promise<void>((resolve) => {
      this.failure ??= 'disposed';
      clearInterval(this.watchdog);
      const pending = this.inFlight;
      this.inFlight = undefined;
      pending?.onDone(false);
      const timer = setTimeout(() => void this.worker.terminate(), graceMs).unref();
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      Atomics.store(this.control, 0, -1);
      Atomics.notify(this.control, 0);
    });
    return this.disposing;
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = reason;
    clearInterval(this.watchdog);
    this.failureListener?.(reason);
    const pending = this.inFlight;
    this.inFlight = undefined;
    pending?.onDone(false);
    void this.worker.terminate();
  }
}
