import { Worker } from 'node:worker_threads';
import { bufferView } from '../../audio/pcm';
import { Resampler } from '../../audio/resampler';
import { DomainError, withTimeout } from '../../common/errors';
import { ResourcePool } from '../../common/pool/resource-pool';
import { TextToSpeech, type SynthesisRequest } from '../ports';
import { synthesisUnits } from './sentences';

/**
 * The protocol and main-thread side shared by the embedded synthesizers that run in worker threads
 * (flite through libflite, espeak-ng in WASM). Their synthesis is synchronous native or WASM code
 * (10–50 ms per clause), which is why it never runs on the main event loop.
 */

/** Main thread → worker. */
export type ToSynthWorker =
  /** `rate` is relative (1 = normal); each engine maps it to its own control. */
  | { type: 'synth'; id: number; sentences: string[]; voice: string; rate: number }
  /** Stop the request at the next unit boundary (answered by 'done'). */
  | { type: 'cancel'; id: number }
  /** Exit the thread once the current unit is done (answered by the thread's exit). */
  | { type: 'close' };

/** Worker → main thread. */
export type FromSynthWorker =
  | { type: 'ready'; sampleRate: number }
  /** One synthesized unit, PCM16 mono at the engine's rate (the buffer is transferred). */
  | { type: 'audio'; id: number; pcm: ArrayBuffer }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; message: string }
  /** The engine could not start (e.g. its library is missing): the worker is useless. */
  | { type: 'fatal'; message: string };

export interface SynthEngineOptions {
  /** Name in errors and logs ("flite", "espeak-ng"). */
  label: string;
  /** The worker script, the flags to start it with (see workerEntry) and its workerData. */
  entry: { file: string; execArgv: string[]; workerData?: unknown };
  /** Bound on the worker's start (library load, voice warm-up). */
  startTimeoutMs?: number;
  /** A request whose worker sends nothing for this long is hung: the worker is terminated. */
  silenceTimeoutMs?: number;
  /** Called once the worker thread has exited, for whatever reason, with its thread id. */
  onExit?: (threadId: number) => void;
}

/** One synthesizer worker thread. Requests are served in order; a broken engine is never reused. */
export class SynthEngine {
  private nextId = 1;
  private readonly handlers = new Map<number, (m: FromSynthWorker) => void>();
  private watchdog: NodeJS.Timeout | undefined;
  private disposing: Promise<void> | undefined;
  broken = false;

  private constructor(
    private readonly worker: Worker,
    readonly sampleRate: number,
    private readonly label: string,
    private readonly silenceTimeoutMs: number,
  ) {
    worker.on('message', (m: FromSynthWorker) => {
      if (m.type === 'ready' || m.type === 'fatal') return;
      this.armWatchdog();
      this.handlers.get(m.id)?.(m);
    });
    worker.on('error', (err) => this.fail(`${label} worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.fail(`${label} worker exited (${code})`));
  }

  static create(options: SynthEngineOptions): Promise<SynthEngine> {
    const { label, entry } = options;
    const startTimeoutMs = options.startTimeoutMs ?? 10_000;
    const worker = new Worker(entry.file, {
      execArgv: entry.execArgv,
      workerData: entry.workerData,
    });
    if (options.onExit) {
      const onExit = options.onExit;
      const id = worker.threadId;
      worker.once('exit', () => onExit(id));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new DomainError('PROVIDER_TIMEOUT', `${label} did not start within ${startTimeoutMs} ms`));
      }, startTimeoutMs);
      worker.once('message', (m: FromSynthWorker) => {
        clearTimeout(timer);
        if (m.type === 'ready') {
          resolve(new SynthEngine(worker, m.sampleRate, label, options.silenceTimeoutMs ?? 10_000));
        } else {
          void worker.terminate();
          reject(
            new DomainError(
              'PROVIDER_ERROR',
              `${label} failed to start: ${m.type === 'fatal' ? m.message : m.type}`,
            ),
          );
        }
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(new DomainError('PROVIDER_ERROR', `${label} failed to start: ${err.message}`));
      });
    });
  }

  /** Sends a request; `onMessage` sees its audio, done and error messages. Returns the cancel function. */
  request(
    sentences: string[],
    voice: string,
    rate: number,
    onMessage: (m: FromSynthWorker) => void,
  ): () => void {
    const id = this.nextId++;
    if (this.broken) {
      queueMicrotask(() => onMessage({ type: 'error', id, message: `${this.label} worker is broken` }));
      return () => undefined;
    }
    this.handlers.set(id, (m) => {
      if (m.type === 'done' || m.type === 'error') this.handlers.delete(id);
      if (this.handlers.size === 0) this.disarmWatchdog();
      onMessage(m);
    });
    this.armWatchdog();
    this.post({ type: 'synth', id, sentences, voice, rate });
    return () => {
      if (this.handlers.has(id)) this.post({ type: 'cancel', id });
    };
  }

  /**
   * Ends the worker. It is asked to exit between units, never terminated in the middle of one: a thread
   * stopped inside a native call can abort the whole process. Only a worker that does not exit within
   * `graceMs` (stuck in native code) is terminated.
   */
  dispose(graceMs = 5_000): Promise<void> {
    this.broken = true;
    this.disarmWatchdog();
    this.disposing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate(), graceMs);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage({ type: 'close' } satisfies ToSynthWorker);
    });
    return this.disposing;
  }

  private armWatchdog(): void {
    this.disarmWatchdog();
    if (this.handlers.size === 0) return;
    this.watchdog = setTimeout(() => {
      this.fail(`${this.label} did not answer within ${this.silenceTimeoutMs} ms`);
      void this.dispose();
    }, this.silenceTimeoutMs);
  }

  private disarmWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private fail(message: string): void {
    this.broken = true;
    this.disarmWatchdog();
    const pending = [...this.handlers.entries()];
    this.handlers.clear();
    for (const [id, h] of pending) h({ type: 'error', id, message });
  }

  private post(m: ToSynthWorker): void {
    if (!this.broken) this.worker.postMessage(m);
  }
}

export function createSynthPool(
  engine: SynthEngineOptions,
  options: { name: string; max: number; minIdle: number },
): ResourcePool<SynthEngine> {
  return new ResourcePool<SynthEngine>({
    name: options.name,
    create: () => SynthEngine.create(engine),
    destroy: (e) => e.dispose(),
    validate: (e) => !e.broken,
    max: options.max,
    minIdle: Math.min(options.minIdle, options.max),
    idleTimeoutMs: 5 * 60_000,
    acquireTimeoutMs: 5_000,
    createTimeoutMs: (engine.startTimeoutMs ?? 10_000) + 2_000,
  });
}

/**
 * Text to speech on pooled worker engines: the text is cut into synthesis units (the first clause
 * alone, then sentences), the worker synthesizes them in order and each unit is yielded, resampled to
 * the requested rate, as soon as it is ready. One engine is leased per request.
 */
export abstract class WorkerTextToSpeech extends TextToSpeech {
  readonly driver = 'local';
  protected abstract readonly label: string;

  constructor(readonly pool: ResourcePool<SynthEngine>) {
    super();
  }

  /** The engine's voice name for a request. */
  protected abstract voiceFor(request: SynthesisRequest): string;

  async *synthesize(request: SynthesisRequest): AsyncIterable<Buffer> {
    if (request.ssml)
      throw new DomainError(
        'NOT_AVAILABLE',
        `the local ${this.label} engine does not speak SSML; send plain text`,
      );
    const lease = await this.pool.acquire({ signal: request.signal });
    const engine = lease.resource;
    const resampler =
      engine.sampleRate === request.sampleRate
        ? undefined
        : await Resampler.create(engine.sampleRate, request.sampleRate);
    const queue: FromSynthWorker[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    // Settles when the worker is done with this request (normally or not): the engine is free again.
    let markSettled!: () => void;
    const settled = new Promise<void>((resolve) => (markSettled = resolve));
    const cancel = engine.request(
      synthesisUnits(request.text),
      this.voiceFor(request),
      request.voice.rate && request.voice.rate > 0 ? request.voice.rate : 1,
      (m) => {
        queue.push(m);
        if (m.type === 'done' || m.type === 'error') markSettled();
        wake?.();
      },
    );
    const onAbort = () => {
      cancel();
      wake?.();
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!request.signal?.aborted) {
        const m = queue.shift();
        if (!m) {
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (m.type === 'audio') {
          const pcm = new Int16Array(m.pcm);
          // The transferred buffer is ours; the resampler's output is its scratch, hence the copy.
          yield resampler ? Buffer.from(bufferView(resampler.process(pcm))) : bufferView(pcm);
        } else if (m.type === 'error') {
          finished = true;
          throw new DomainError('PROVIDER_ERROR', m.message);
        } else if (m.type === 'done') {
          finished = true;
          return;
        }
      }
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      resampler?.dispose();
      if (engine.broken) lease.discard(`${this.label} worker broken`);
      else if (finished) lease.release();
      else {
        // Stopped early (abort or consumer break): the engine is reusable once it has finished the
        // current unit; keep it out of the pool until then.
        cancel();
        withTimeout(settled, 5000, `${this.label} stop`).then(
          () => lease.release(),
          () => lease.discard(`${this.label} did not stop`),
        );
      }
    }
  }
}
