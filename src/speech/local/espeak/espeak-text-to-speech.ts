import { Worker } from 'node:worker_threads';
import { bufferView } from '../../../audio/pcm';
import { Resampler } from '../../../audio/resampler';
import { DomainError, withTimeout } from '../../../common/errors';
import { ResourcePool } from '../../../common/pool/resource-pool';
import { workerEntry } from '../../../common/worker-entry';
import { TextToSpeech, type SynthesisRequest } from '../../ports';
import { synthesisUnits } from '../sentences';
import type { FromEspeakWorker, ToEspeakWorker } from './espeak.worker';

const BASE_WPM = 175;

/** One espeak-ng worker thread (~90 MB). */
export class EspeakEngine {
  private nextId = 1;
  private readonly handlers = new Map<number, (m: FromEspeakWorker) => void>();
  broken = false;

  private constructor(
    private readonly worker: Worker,
    readonly sampleRate: number,
  ) {
    worker.on('message', (m: FromEspeakWorker) => {
      if (m.type !== 'ready' && m.type !== 'fatal') this.handlers.get(m.id)?.(m);
    });
    const fail = (message: string) => {
      this.broken = true;
      for (const [id, h] of this.handlers) h({ type: 'error', id, message });
    };
    worker.on('error', (err) => fail(`espeak worker crashed: ${err.message}`));
    worker.on('exit', (code) => fail(`espeak worker exited (${code})`));
  }

  static create(timeoutMs = 10_000): Promise<EspeakEngine> {
    const entry = workerEntry(__dirname, 'espeak.worker', __filename);
    const worker = new Worker(entry.file, { execArgv: entry.execArgv });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new DomainError('PROVIDER_TIMEOUT', `espeak-ng did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      worker.once('message', (m: FromEspeakWorker) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve(new EspeakEngine(worker, m.sampleRate));
        else {
          void worker.terminate();
          reject(
            new DomainError(
              'PROVIDER_ERROR',
              `espeak-ng failed to start: ${m.type === 'fatal' ? m.message : m.type}`,
            ),
          );
        }
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(new DomainError('PROVIDER_ERROR', `espeak-ng failed to start: ${err.message}`));
      });
    });
  }

  /** Sends a request; `onMessage` sees its audio, done and error messages. Returns the cancel function. */
  request(
    sentences: string[],
    voice: string,
    wpm: number,
    onMessage: (m: FromEspeakWorker) => void,
  ): () => void {
    const id = this.nextId++;
    this.handlers.set(id, (m) => {
      if (m.type === 'done' || m.type === 'error') this.handlers.delete(id);
      onMessage(m);
    });
    this.post({ type: 'synth', id, sentences, voice, wordsPerMinute: wpm });
    return () => this.post({ type: 'cancel', id });
  }

  dispose(): Promise<number> {
    return this.worker.terminate();
  }

  private post(m: ToEspeakWorker): void {
    this.worker.postMessage(m);
  }
}

export function createEspeakPool(
  options: { max?: number; minIdle?: number } = {},
): ResourcePool<EspeakEngine> {
  return new ResourcePool<EspeakEngine>({
    name: 'espeak-ng',
    create: () => EspeakEngine.create(),
    destroy: (e) => void e.dispose(),
    validate: (e) => !e.broken,
    max: options.max ?? 2,
    minIdle: options.minIdle ?? 1,
    idleTimeoutMs: 5 * 60_000,
    acquireTimeoutMs: 5_000,
    createTimeoutMs: 12_000,
  });
}

/**
 * The npm-only embedded TTS (espeak-ng compiled to WASM, 22.05 kHz): used when Debian's flite is not
 * installed. Robotic but fast (~1 ms to first audio warm) and needs no system package. Engines are
 * worker threads leased from a pool; each sentence is resampled to the requested rate as it arrives.
 */
export class EspeakTextToSpeech extends TextToSpeech {
  readonly driver = 'local';

  constructor(readonly pool: ResourcePool<EspeakEngine>) {
    super();
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<Buffer> {
    if (request.ssml)
      throw new DomainError(
        'NOT_AVAILABLE',
        'the local espeak-ng engine does not speak SSML; send plain text',
      );
    const lease = await this.pool.acquire({ signal: request.signal });
    const engine = lease.resource;
    const resampler =
      engine.sampleRate === request.sampleRate
        ? undefined
        : await Resampler.create(engine.sampleRate, request.sampleRate);
    const queue: FromEspeakWorker[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    // Settles when the worker is done with this request (normally or not): the engine is free again.
    let markSettled!: () => void;
    const settled = new Promise<void>((resolve) => (markSettled = resolve));
    const voice = request.voice.language?.toLowerCase() ?? 'en-us';
    const cancel = engine.request(
      synthesisUnits(request.text),
      voice,
      Math.round(BASE_WPM * (request.voice.rate ?? 1)),
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
          yield Buffer.from(bufferView(resampler ? resampler.process(pcm).slice() : pcm));
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
      if (engine.broken) lease.discard('espeak worker broken');
      else if (finished) lease.release();
      else {
        // Stopped early (abort or consumer break): the engine is reusable once it has finished the
        // current sentence; keep it out of the pool until then.
        cancel();
        withTimeout(settled, 5000, 'espeak-ng stop').then(
          () => lease.release(),
          () => lease.discard('espeak did not stop'),
        );
      }
    }
  }
}
