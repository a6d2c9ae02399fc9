import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { DomainError } from '../../../common/errors';
import { workerEntry } from '../../../common/worker-entry';
import type { ExpectedInput } from '../../ports/speech-to-text.port';
import type { DecoderWorkerData, FinalResult, FromWorker, ToWorker } from './decoder.worker';

export interface PocketsphinxDecoderOptions {
  /** Directory holding en-us/, en-us.lm.bin and cmudict-en-us.dict (Debian pocketsphinx-en-us). */
  modelDir?: string;
  /** Bound on worker start + model load (measured ~300 ms-1 s). */
  readyTimeoutMs?: number;
  /** A request ('open', 'end', 'close', 'ping') unanswered this long marks the worker as hung. */
  watchdogMs?: number;
  /** While a session is open, the worker is pinged this often (a pong also bounds the audio backlog). */
  pingIntervalMs?: number;
  partialIntervalMs?: number;
  maxUtteranceMs?: number;
  logger?: Logger;
}

export type DecoderEvent =
  | { type: 'partial'; text: string }
  | ({ type: 'final' } & FinalResult)
  /** The worker crashed, exited or hung; the decoder is unusable and must be discarded. */
  | { type: 'broken'; error: DomainError };

export type DecoderListener = (event: DecoderEvent) => void;

export interface DecoderInfo {
  threadId: number;
  /** Reported by the worker itself: false proves decoding is off the main event loop. */
  isMainThread: boolean;
  initMs: number;
}

type Reply = 'opened' | 'final' | 'closed' | 'pong';

interface Pending {
  reply: Reply;
  deadline: number;
  resolve?: () => void;
  reject?: (err: DomainError) => void;
}

const DEFAULTS = {
  readyTimeoutMs: 10_000,
  watchdogMs: 3_000,
  pingIntervalMs: 1_000,
  partialIntervalMs: 200,
  maxUtteranceMs: 60_000,
};

/**
 * Main-thread handle of one pocketsphinx decoder running in its own worker thread. Audio goes in as
 * transferred buffers; results come back through the attached listener. Any crash, exit or missed
 * watchdog deadline turns the handle broken: the listener hears it once, and the owner discards it.
 */
export class PocketsphinxDecoder {
  private listener: DecoderListener | undefined;
  private readonly pending: Pending[] = [];
  private watchdog: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private brokenBy: DomainError | undefined;
  private disposing = false;
  private alive = true;
  /** Last message from the worker (Date.now()): a worker that keeps talking is behind, not hung. */
  private lastHeardAt = Date.now();
  private readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly info: DecoderInfo,
    private readonly options: Required<Omit<PocketsphinxDecoderOptions, 'modelDir' | 'logger'>>,
    private readonly logger: Logger | undefined,
  ) {
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        this.alive = false;
        resolve();
      }),
    );
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (err) => this.fail(`pocketsphinx worker crashed: ${err.message}`, err));
    worker.on('exit', (code) => {
      if (!this.disposing) this.fail(`pocketsphinx worker exited unexpectedly (code ${code})`);
    });
  }

  /** Starts a worker and waits until its decoder is loaded. */
  static async create(options: PocketsphinxDecoderOptions = {}): Promise<PocketsphinxDecoder> {
    const settings = {
      readyTimeoutMs: options.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
      watchdogMs: options.watchdogMs ?? DEFAULTS.watchdogMs,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      partialIntervalMs: options.partialIntervalMs ?? DEFAULTS.partialIntervalMs,
      maxUtteranceMs: options.maxUtteranceMs ?? DEFAULTS.maxUtteranceMs,
    };
    const entry = workerEntry(__dirname, 'decoder.worker', __filename);
    const workerData: DecoderWorkerData = {
      modelDir: options.modelDir,
      partialIntervalMs: settings.partialIntervalMs,
      maxUtteranceMs: settings.maxUtteranceMs,
      heartbeatMs: Math.max(50, Math.floor(settings.watchdogMs / 3)),
    };
    const worker = new Worker(entry.file, { workerData, execArgv: entry.execArgv });
    const info = await new Promise<DecoderInfo>((resolve, reject) => {
      // Named handlers, removed one by one: removeAllListeners() would also drop the Worker's own
      // 'newListener' hooks that keep its message port referenced.
      const cleanup = () => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const fail = (err: DomainError) => {
        cleanup();
        void worker.terminate();
        reject(err);
      };
      const onMessage = (message: FromWorker) => {
        if (message.type === 'ready') {
          cleanup();
          resolve({ threadId: message.threadId, isMainThread: message.isMainThread, initMs: message.initMs });
        } else if (message.type === 'error') {
          fail(new DomainError('NOT_AVAILABLE', `pocketsphinx could not start: ${message.message}`));
        }
      };
      const onError = (err: Error) =>
        fail(
          new DomainError('NOT_AVAILABLE', `pocketsphinx worker failed to start: ${err.message}`, undefined, {
            cause: err,
          }),
        );
      const onExit = (code: number) =>
        fail(new DomainError('NOT_AVAILABLE', `pocketsphinx worker exited during start (code ${code})`));
      const timer = setTimeout(
        () =>
          fail(
            new DomainError(
              'PROVIDER_TIMEOUT',
              `pocketsphinx worker not ready within ${settings.readyTimeoutMs} ms`,
            ),
          ),
        settings.readyTimeoutMs,
      );
      timer.unref();
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    return new PocketsphinxDecoder(worker, info, settings, options.logger);
  }

  get broken(): boolean {
    return this.brokenBy !== undefined;
  }

  /** Attaches a session: resets the worker's session state and starts the keep-alive pings. */
  async open(expected: ExpectedInput, listener: DecoderListener, gated = false): Promise<void> {
    this.listener = listener;
    await this.request({ type: 'open', expected, gated }, 'opened');
    this.pinger = setInterval(() => {
      if (!this.pending.some((p) => p.reply === 'pong'))
        void this.request({ type: 'ping' }, 'pong').catch(() => undefined);
    }, this.options.pingIntervalMs);
    this.pinger.unref();
  }

  /** Hands a batch of 16 kHz PCM16 to the worker; the buffer is transferred (unusable afterwards). */
  write(pcm: Int16Array): void {
    if (this.brokenBy) return;
    this.post({ type: 'audio', pcm: pcm.buffer as ArrayBuffer }, [pcm.buffer as ArrayBuffer]);
  }

  /** Gated sessions: the audio written next starts an utterance, `atSamples` into the session. */
  startUtterance(atSamples: number): void {
    if (this.brokenBy) return;
    this.post({ type: 'start', atSamples });
  }

  /** Requests the final of the current utterance; it arrives through the listener. */
  endUtterance(): void {
    void this.request({ type: 'end' }, 'final').catch(() => undefined); // a miss is reported as 'broken'
  }

  setExpected(expected: ExpectedInput): void {
    this.post({ type: 'expect', expected });
  }

  /** Detaches the session; resolves once the worker has dropped its utterance (ready for reuse). */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    try {
      if (!this.brokenBy) await this.request({ type: 'close' }, 'closed');
    } finally {
      this.listener = undefined;
    }
  }

  /**
   * Ends the worker at once, as a crash would (last resort for a thread that ignores dispose). The
   * native decoder's memory (~90 MB) is not freed: terminate() gives its thread no chance to run ps_free.
   */
  kill(reason: string): void {
    this.fail(reason);
    void this.worker.terminate();
  }

  /**
   * Frees the native decoder and ends the thread. Also for a broken decoder: a worker that is merely
   * slow or reported an error can still free its ~90 MB; one that does not comply in time is terminated.
   */
  async dispose(): Promise<void> {
    if (this.disposing) return this.exited;
    this.disposing = true;
    clearInterval(this.pinger);
    this.stopWatchdog();
    if (!this.alive) return;
    this.worker.postMessage({ type: 'dispose' } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), this.options.watchdogMs);
    timer.unref();
    await this.exited;
    clearTimeout(timer);
  }

  private post(message: ToWorker, transfer?: ArrayBuffer[]): void {
    try {
      this.worker.postMessage(message, transfer);
    } catch (err) {
      // A message that cannot be cloned or transferred must fail the session, not the caller's frame loop.
      this.fail(`pocketsphinx worker message failed: ${(err as Error).message}`, err);
    }
  }

  private request(message: ToWorker, reply: Reply): Promise<void> {
    if (this.brokenBy) return Promise.reject(this.brokenBy);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ reply, deadline: Date.now() + this.options.watchdogMs, resolve, reject });
      this.post(message);
      this.armWatchdog();
    });
  }

  private onMessage(message: FromWorker): void {
    this.lastHeardAt = Date.now();
    switch (message.type) {
      case 'alive':
        return;
      case 'partial':
        this.emit({ type: 'partial', text: message.text });
        return;
      case 'final':
        if (!message.auto) this.settle('final');
        this.emit(message);
        return;
      case 'opened':
      case 'closed':
      case 'pong':
        this.settle(message.type);
        return;
      case 'error':
        this.fail(`pocketsphinx failed: ${message.message}`);
        return;
      case 'ready':
        return;
    }
  }

  /** Replies come in request order (the worker handles messages sequentially). */
  private settle(reply: Reply): void {
    const i = this.pending.findIndex((p) => p.reply === reply);
    if (i < 0) return;
    const [done] = this.pending.splice(i, 1);
    done.resolve?.();
    if (this.pending.length === 0) this.stopWatchdog();
  }

  private armWatchdog(): void {
    if (this.watchdog) return;
    const check = () => {
      this.watchdog = undefined;
      const head = this.pending[0];
      if (!head) return;
      // A worker that answers late but keeps saying it is alive (heartbeats while it works through a
      // backlog) is slow, not hung: replacing it would only add the cost of a new decoder to the load.
      const late = Date.now() - Math.max(head.deadline, this.lastHeardAt + this.options.watchdogMs);
      if (late >= 0) {
        // Fail the session now; dispose() then gives the worker a last chance to free its decoder.
        this.fail(
          `pocketsphinx worker did not answer '${head.reply}' and was silent for ${this.options.watchdogMs} ms`,
          undefined,
          'PROVIDER_TIMEOUT',
        );
        return;
      }
      this.watchdog = setTimeout(check, -late);
      this.watchdog.unref();
    };
    this.watchdog = setTimeout(check, this.options.watchdogMs);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private fail(
    reason: string,
    cause?: unknown,
    code: 'PROVIDER_ERROR' | 'PROVIDER_TIMEOUT' = 'PROVIDER_ERROR',
  ): void {
    if (this.brokenBy || this.disposing) return;
    const error = new DomainError(code, reason, { threadId: this.info.threadId }, { cause });
    this.brokenBy = error;
    this.logger?.warn({ threadId: this.info.threadId, err: cause }, reason);
    clearInterval(this.pinger);
    this.stopWatchdog();
    for (const p of this.pending.splice(0)) p.reject?.(error);
    this.emit({ type: 'broken', error });
  }

  private emit(event: DecoderEvent): void {
    const listener = this.listener;
    // After 'broken' the session is gone; a late reply from a slow worker must not reach it.
    if (!listener || (this.brokenBy && event.type !== 'broken')) return;
    try {
      listener(event);
    } catch (err) {
      // A listener bug must not take the decoder (or the process) down with it.
      this.logger?.error({ err }, 'pocketsphinx listener threw');
    }
  }
}
