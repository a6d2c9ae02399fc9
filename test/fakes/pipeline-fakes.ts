import { DomainError } from '../../src/common/errors';
import type { Clock } from '../../src/media/pipeline/clock';
import {
  ChatModel,
  type ChatEvent,
  type ChatMessage,
  type ChatOptions,
  type ToolSpec,
} from '../../src/llm/ports';
import {
  DEFAULT_VAD_OPTIONS,
  SpeechToText,
  TextToSpeech,
  VoiceActivityDetector,
  type ExpectedInput,
  type SttEvent,
  type SttListener,
  type SttSession,
  type SttSessionOptions,
  type SynthesisRequest,
  type VadFrameResult,
  type VadOptions,
  type VadStream,
} from '../../src/speech/ports';
import { VadSegmenter } from '../../src/speech/vad/vad-segmenter';

/**
 * Provider fakes at the port boundary, with latencies on an injected Clock: a FakeClock in pipeline
 * tests (timing counted in frames), the system clock in benchmarks (realistic provider delays).
 */

/** Resolves after `ms` on `clock`; rejects with the signal's reason when aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal!.reason as Error);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ---- VAD

/** Energy VAD on the real segmenter: a frame whose peak reaches `level` is speech. */
export class FakeVad extends VoiceActivityDetector {
  readonly driver = 'fake';
  readonly streams: FakeVadStream[] = [];
  constructor(private readonly level = 1000) {
    super();
  }
  async createStream(_sampleRate: number, options: Partial<VadOptions> = {}): Promise<VadStream> {
    const stream = new FakeVadStream({ ...DEFAULT_VAD_OPTIONS, ...options }, this.level);
    this.streams.push(stream);
    return stream;
  }
}

export class FakeVadStream implements VadStream {
  readonly frameMs = 20;
  closed = false;
  private readonly segmenter: VadSegmenter;
  constructor(
    options: VadOptions,
    private readonly level: number,
  ) {
    this.segmenter = new VadSegmenter(options, this.frameMs);
  }
  process(frame: Int16Array): VadFrameResult {
    let peak = 0;
    for (let i = 0; i < frame.length; i += 8) peak = Math.max(peak, Math.abs(frame[i]));
    const probability = peak >= this.level ? 1 : 0;
    const event = this.segmenter.push(probability);
    return event ? { probability, event } : { probability };
  }
  reset(): void {
    this.segmenter.reset();
  }
  close(): void {
    this.closed = true;
  }
}

// ---- STT

export interface FakeSttOptions {
  clock: Clock;
  /** With `transcripts`: the final arrives this long after endUtterance (default 150 ms). */
  finalDelayMs?: number;
  /**
   * Automatic finals: the n-th endUtterance gets this text; undefined sends none (the engine heard
   * nothing). Tests can also emit events by hand.
   */
  transcripts?: (n: number) => string | undefined;
}

export class FakeStt extends SpeechToText {
  readonly driver = 'fake';
  readonly sessions: FakeSttSession[] = [];
  /** The next open() calls fail (counts down). */
  failOpens = 0;
  constructor(private readonly options: FakeSttOptions) {
    super();
  }
  async open(options: SttSessionOptions): Promise<SttSession> {
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new DomainError('PROVIDER_ERROR', 'fake STT refused the session');
    }
    const session = new FakeSttSession(this.options, options);
    this.sessions.push(session);
    return session;
  }
  /** The most recent session. */
  get session(): FakeSttSession {
    const s = this.sessions[this.sessions.length - 1];
    if (!s) throw new Error('no STT session was opened');
    return s;
  }
  get openSessions(): number {
    return this.sessions.filter((s) => !s.closed).length;
  }
}

export class FakeSttSession implements SttSession {
  frames = 0;
  /** agoMs of every speechStarted() call. */
  readonly speechStarts: number[] = [];
  endUtterances = 0;
  closed = false;
  readonly expected: ExpectedInput[] = [];
  private listener: SttListener | undefined;
  constructor(
    private readonly fake: FakeSttOptions,
    readonly options: SttSessionOptions,
  ) {
    if (options.expected) this.expected.push(options.expected);
  }
  write(): void {
    if (!this.closed) this.frames++;
  }
  speechStarted(agoMs: number): void {
    this.speechStarts.push(agoMs);
  }
  endUtterance(): void {
    const n = this.endUtterances++;
    const { transcripts, clock, finalDelayMs = 150 } = this.fake;
    if (!transcripts) return;
    const text = transcripts(n);
    if (text === undefined) return;
    void sleep(clock, finalDelayMs).then(() => this.emit({ type: 'final', text }));
  }
  setExpectedInput(expected: ExpectedInput): void {
    this.expected.push(expected);
  }
  onEvent(listener: SttListener): void {
    this.listener = listener;
  }
  emit(event: SttEvent): void {
    if (!this.closed) this.listener?.(event);
  }
  /** The engine fails: an error event, and the session is over. */
  fail(message = 'fake STT failure'): void {
    this.emit({ type: 'error', error: new DomainError('PROVIDER_ERROR', message) });
    this.closed = true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

// ---- TTS

export interface FakeTtsOptions {
  clock: Clock;
  /** Delay before the first chunk (default 80 ms). */
  firstChunkMs?: number;
  /** Audio length per character of text (default 60 ms). */
  msPerChar?: number;
  /** Audio per chunk (default 200 ms). */
  chunkMs?: number;
  /** How much faster than real time the rest arrives (default 4). */
  speed?: number;
  /** Peak of the tone (default 3000). */
  amplitude?: number;
}

export class FakeTts extends TextToSpeech {
  readonly driver = 'fake';
  readonly requests: Array<{ text: string; aborted: boolean; chunks: number; startedAt: number }> = [];
  /** Requests whose text matches fail. */
  failWhen: ((text: string) => boolean) | undefined;
  /** Requests whose text matches never produce anything (until aborted). */
  hangWhen: ((text: string) => boolean) | undefined;
  private readonly tones = new Map<number, Buffer>();
  constructor(private readonly options: FakeTtsOptions) {
    super();
  }

  /** Audio length the fake produces for a text. */
  audioMs(text: string): number {
    const per = this.options.msPerChar ?? 60;
    return Math.max(20, Math.round((text.length * per) / 20) * 20);
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<Buffer> {
    const { clock, firstChunkMs = 80, chunkMs = 200, speed = 4 } = this.options;
    const record = { text: request.text, aborted: false, chunks: 0, startedAt: clock.now() };
    this.requests.push(record);
    const signal = request.signal;
    try {
      await sleep(clock, firstChunkMs, signal);
      if (this.failWhen?.(request.text))
        throw new DomainError('PROVIDER_ERROR', `fake TTS failed on "${request.text}"`);
      if (this.hangWhen?.(request.text)) await sleep(clock, 3_600_000, signal);
      let left = this.audioMs(request.text);
      while (left > 0) {
        const ms = Math.min(chunkMs, left);
        left -= ms;
        record.chunks++;
        yield this.tone(request.sampleRate, ms);
        if (left > 0) await sleep(clock, ms / speed, signal);
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    } finally {
      // Also when the consumer stopped pulling (return()) after the abort.
      if (signal?.aborted) record.aborted = true;
    }
  }

  private tone(sampleRate: number, ms: number): Buffer {
    const key = sampleRate * 10_000 + ms;
    let buf = this.tones.get(key);
    if (!buf) {
      const samples = new Int16Array((sampleRate / 1000) * ms);
      const amp = this.options.amplitude ?? 3000;
      for (let i = 0; i < samples.length; i++)
        samples[i] = Math.round(amp * Math.sin((2 * Math.PI * 440 * i) / sampleRate));
      buf = Buffer.from(samples.buffer);
      this.tones.set(key, buf);
    }
    return buf;
  }
}

// ---- LLM

export interface FakeReply {
  text?: string;
  toolCalls?: Array<{ name: string; arguments?: Record<string, unknown> }>;
  /** The stream fails after the text (if any). */
  error?: DomainError;
  /** Never finishes (until aborted). */
  hang?: boolean;
}

export interface FakeModelOptions {
  clock: Clock;
  /** Time to first token (default 300 ms). */
  ttftMs?: number;
  /** Streaming speed, one word per token (default 30 tokens/s; Infinity: all at once). */
  tokensPerSecond?: number;
  /** The answer to each model call (n counts calls). */
  reply: (n: number, messages: ChatMessage[]) => FakeReply;
}

export class FakeChatModel extends ChatModel {
  readonly driver = 'fake';
  readonly calls: Array<{ messages: ChatMessage[]; aborted: boolean }> = [];
  constructor(private readonly options: FakeModelOptions) {
    super();
  }
  get aborts(): number {
    return this.calls.filter((c) => c.aborted).length;
  }

  async *stream(
    messages: ChatMessage[],
    _tools: ToolSpec[],
    _options: ChatOptions,
    signal?: AbortSignal,
  ): AsyncIterable<ChatEvent> {
    const { clock, ttftMs = 300, tokensPerSecond = 30 } = this.options;
    const record = { messages: messages.map((m) => ({ ...m })), aborted: false };
    this.calls.push(record);
    const reply = this.options.reply(this.calls.length - 1, messages);
    try {
      await sleep(clock, ttftMs, signal);
      const words = (reply.text ?? '').split(/(?<=\s)/).filter(Boolean);
      for (let i = 0; i < words.length; i++) {
        if (i > 0 && tokensPerSecond !== Infinity) await sleep(clock, 1000 / tokensPerSecond, signal);
        yield { type: 'text', delta: words[i] };
      }
      if (reply.hang) await sleep(clock, 3_600_000, signal);
      if (reply.error) {
        yield { type: 'error', error: reply.error };
        return;
      }
      let id = 0;
      for (const call of reply.toolCalls ?? [])
        yield {
          type: 'tool_call',
          call: { id: `call_${++id}`, name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
        };
      yield {
        type: 'usage',
        promptTokens: 100,
        completionTokens: words.length,
        totalTokens: 100 + words.length,
      };
      yield { type: 'finish', reason: reply.toolCalls?.length ? 'tool_calls' : 'stop' };
    } catch (err) {
      if (!signal?.aborted) throw err;
    } finally {
      if (signal?.aborted) record.aborted = true;
    }
  }
}
