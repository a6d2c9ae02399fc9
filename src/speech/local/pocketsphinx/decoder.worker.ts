import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import type { ExpectedInput } from '../../ports/speech-to-text.port';
import { GRAMMARS, grammarFor, type GrammarName } from './grammars';
import { NativeDecoder } from './ffi';

/**
 * Worker thread that owns one pocketsphinx decoder. The main thread posts audio batches (transferred
 * ArrayBuffers of 16 kHz PCM16) and control messages; they are handled strictly in order, so a reply
 * ('opened', 'final', 'closed', 'pong') also proves that all audio posted before it was decoded.
 */

export interface DecoderWorkerData {
  modelDir?: string;
  /** Minimum spacing of partial hypotheses. */
  partialIntervalMs: number;
  /** An utterance this long is closed by the worker (final if it recognised something). */
  maxUtteranceMs: number;
  /** While decoding, the worker says it is alive at least this often (the owner's watchdog). */
  heartbeatMs: number;
}

export type ToWorker =
  /**
   * A new session on this decoder: resets the session clock. A gated session sends audio only from
   * 'start' to 'end'; an ungated one decodes all of it, an utterance opening with the first audio.
   */
  | { type: 'open'; expected: ExpectedInput; gated: boolean }
  /** Gated sessions: an utterance starts with the audio that follows, `atSamples` into the session. */
  | { type: 'start'; atSamples: number }
  | { type: 'audio'; pcm: ArrayBuffer }
  /** End of the current utterance: always answered by exactly one 'final'. */
  | { type: 'end' }
  | { type: 'expect'; expected: ExpectedInput }
  /** Session over: drop the current utterance without a final. */
  | { type: 'close' }
  | { type: 'ping' }
  /** Free the native decoder and exit the thread. */
  | { type: 'dispose' };

export interface FinalResult {
  text: string;
  words: Array<{ word: string; startMs: number; endMs: number }>;
  /** Utterance span, ms from the start of the session's audio. */
  startMs: number;
  endMs: number;
  /** Time spent in ps_end_utt and reading the result. */
  decodeMs: number;
  /** True when the worker ended an over-long utterance itself (not an answer to 'end'). */
  auto: boolean;
}

export type FromWorker =
  | { type: 'ready'; threadId: number; isMainThread: boolean; initMs: number }
  | { type: 'opened' }
  | { type: 'partial'; text: string }
  | ({ type: 'final' } & FinalResult)
  | { type: 'closed' }
  | { type: 'pong' }
  /** Still decoding (a backlog of audio): alive, only behind. */
  | { type: 'alive' }
  /** The decoder failed; the main thread treats the worker as broken. */
  | { type: 'error'; message: string };

const SAMPLES_PER_MS = 16;
const SAMPLES_PER_FRAME = 160;

class DecoderWorker {
  private readonly decoder: NativeDecoder;
  private expected: GrammarName | null = null;
  private gated = false;
  private inUtterance = false;
  /** Samples written in this session, and where the current utterance started. */
  private sessionSamples = 0;
  private utteranceStart = 0;
  private lastPartial = '';
  private lastPartialAt = 0;
  private lastPostAt = performance.now();

  constructor(
    private readonly options: DecoderWorkerData,
    private readonly send: (message: FromWorker) => void,
  ) {
    this.decoder = new NativeDecoder({ modelDir: options.modelDir });
    for (const [name, jsgf] of Object.entries(GRAMMARS)) this.decoder.addGrammar(name, jsgf);
  }

  handle(message: ToWorker): void {
    switch (message.type) {
      case 'open':
        this.abandonUtterance();
        this.sessionSamples = 0;
        this.expected = grammarFor(message.expected);
        this.gated = message.gated;
        this.post({ type: 'opened' });
        return;
      case 'start':
        this.abandonUtterance();
        this.sessionSamples = message.atSamples;
        this.startUtterance();
        return;
      case 'audio':
        this.audio(new Int16Array(message.pcm));
        return;
      case 'end':
        this.post(this.finish(false));
        return;
      case 'expect':
        this.expect(grammarFor(message.expected));
        return;
      case 'close':
        this.abandonUtterance();
        this.post({ type: 'closed' });
        return;
      case 'ping':
        this.post({ type: 'pong' });
        return;
      case 'dispose':
        this.decoder.free();
        parentPort?.close();
        return;
    }
  }

  private post(message: FromWorker): void {
    this.lastPostAt = performance.now();
    this.send(message);
  }

  private audio(pcm: Int16Array): void {
    if (!this.inUtterance) this.startUtterance();
    this.decoder.process(pcm);
    this.sessionSamples += pcm.length;
    const now = performance.now();
    // Working through a backlog (a slow machine, a burst): tell the owner's watchdog we are not hung.
    if (now - this.lastPostAt >= this.options.heartbeatMs) this.post({ type: 'alive' });
    if (this.sessionSamples - this.utteranceStart >= this.options.maxUtteranceMs * SAMPLES_PER_MS) {
      this.closeLongUtterance();
      return;
    }
    // Partials are for barge-in and UI, not per-frame: throttle and only report changes.
    if (now - this.lastPartialAt < this.options.partialIntervalMs) return;
    this.lastPartialAt = now;
    const text = this.decoder.hypothesis();
    if (text !== '' && text !== this.lastPartial) {
      this.lastPartial = text;
      this.post({ type: 'partial', text });
    }
  }

  /**
   * Gated: the new grammar applies from the next 'start' (an utterance in progress is the caller
   * speaking). Ungated, audio keeps flowing between turns, so an utterance of silence is usually open
   * when the agent asks its question: the grammar applies at once if that utterance has recognised
   * nothing yet, otherwise from the next utterance.
   */
  private expect(search: GrammarName | null): void {
    this.expected = search;
    if (!this.gated && this.inUtterance && this.decoder.hypothesis() === '') this.abandonUtterance();
  }

  private startUtterance(): void {
    this.decoder.startUtterance(this.expected ?? this.decoder.lmSearch);
    this.inUtterance = true;
    this.utteranceStart = this.sessionSamples;
    this.lastPartial = '';
    this.lastPartialAt = performance.now();
  }

  private finish(auto: boolean): FromWorker {
    const endMs = this.sessionSamples / SAMPLES_PER_MS;
    // No audio since the last final: an empty result at the current position.
    if (!this.inUtterance)
      return { type: 'final', text: '', words: [], startMs: endMs, endMs, decodeMs: 0, auto };
    const startMs = this.utteranceStart / SAMPLES_PER_MS;
    const t0 = performance.now();
    this.decoder.endUtterance();
    this.inUtterance = false;
    const text = this.decoder.hypothesis();
    const frameMs = SAMPLES_PER_FRAME / SAMPLES_PER_MS;
    const words = this.decoder.segments().map((s) => ({
      word: s.word,
      startMs: startMs + s.startFrame * frameMs,
      endMs: startMs + (s.endFrame + 1) * frameMs,
    }));
    return { type: 'final', text, words, startMs, endMs, decodeMs: performance.now() - t0, auto };
  }

  /** Bounds the decoder's per-utterance memory when nobody calls 'end' (a long stretch of silence). */
  private closeLongUtterance(): void {
    if (this.decoder.hypothesis() === '') this.abandonUtterance();
    else this.post(this.finish(true));
  }

  private abandonUtterance(): void {
    if (!this.inUtterance) return;
    this.decoder.endUtterance();
    this.inUtterance = false;
  }
}

function main(): void {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('decoder.worker must run in a worker thread');
  const post = (message: FromWorker) => port.postMessage(message);
  let worker: DecoderWorker;
  const t0 = performance.now();
  try {
    worker = new DecoderWorker(workerData as DecoderWorkerData, post);
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
    port.close();
    return;
  }
  post({
    type: 'ready',
    threadId,
    isMainThread,
    initMs: Math.round(performance.now() - t0),
  });
  port.on('message', (message: ToWorker) => {
    try {
      worker.handle(message);
    } catch (err) {
      // The decoder's state is unknown after a native failure: report it, the owner discards us.
      post({ type: 'error', message: (err as Error).message });
    }
  });
}

main();
