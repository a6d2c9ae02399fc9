import { performance } from 'node:perf_hooks';
import { frameSamples } from '../../audio/pcm';
import { Histogram } from '../../common/histogram';
import { Resampler } from '../../audio/resampler';
import {
  DEFAULT_VAD_OPTIONS,
  VoiceActivityDetector,
  type VadEvent,
  type VadFrameResult,
  type VadOptions,
  type VadStream,
} from '../ports';
import {
  SILERO_CONTEXT as CONTEXT,
  SILERO_INPUT as INPUT,
  SILERO_MAX_BATCH as MAX_BATCH,
  SILERO_RATE as RATE,
  SILERO_STATE as STATE,
  SILERO_WINDOW as WINDOW,
  SILERO_WORKER_MAX_BATCH as WORKER_MAX_BATCH,
  SileroModel,
  sileroModelPath,
} from './silero-model';
import { LoudnessGate } from './loudness-gate';
import { SileroThread, type SileroThreadOptions } from './silero-thread';
import { VadSegmenter } from './vad-segmenter';

export { sileroModelPath } from './silero-model';

/**
 * After this many consecutive windows below QUIET_PROBABILITY (~1 s) the LSTM state is zeroed. Carried
 * through seconds of a quiet line (the caller listening to the agent), the state drifts so that the
 * next speech is recognised late: onsets measured 420–760 ms after the energy onset after 4–9 s of
 * quiet, against 280–320 ms after a short pause or with the state reset (flite utterances, −50 to −80
 * dBFS noise). That delay is the barge-in's. Speech decisions inside a turn are not affected: the
 * windows must all be quiet.
 */
const QUIET_RESET_WINDOWS = 31;
const QUIET_PROBABILITY = 0.15;
/** How long a window waits for others to share its inference, unless a full batch is ready sooner. */
export const DEFAULT_VAD_BATCH_MS = 4;
/** Windows a stream holds for the batch in steady state; a burst (a call's start-up replay) grows it. */
const QUEUE_SLOTS = 4;
/**
 * Beyond this many queued windows (~5 s of audio) a stream drops new windows: the VAD is that far behind
 * (an overload, or a worker that stopped answering), and running them synchronously (79 µs each, alone)
 * would only deepen an overload.
 */
const MAX_QUEUED_WINDOWS = 160;
/** Deferred frames a stream tracks in steady state (grows with the window queue, 2 frames per window). */
const FRAME_SLOTS = 64;
/** A deferred frame's entry: windows it completed (low bits), and whether it was loud (this bit). */
const LOUD_FRAME = 0x80;
/**
 * Onset lookback (VadSegmenter): how far a speech onset may move back to the loud frames before
 * Silero's first speech window. Silero crossed 0.5 at +20 to +100 ms after the first loud frame of
 * the bench's flite utterances; at 200 capacity-bench calls the callers' barge-in p50 / p99 were
 * 283 / 326 ms without the lookback and 232 / 257 ms with it (minimum 250 ms, target p99 290).
 */
export const DEFAULT_SILERO_ONSET_LOOKBACK_MS = 96;

/** Where batched inference runs: a worker thread (the default) or the main event loop. */
export type SileroThreadMode = 'worker' | 'main';

export interface SileroVadOptions {
  /** How long a window waits for others to share its inference (see DEFAULT_VAD_BATCH_MS). */
  batchMs?: number;
  thread?: SileroThreadMode;
  /** Told when the worker cannot start or fails later; inference then runs on the main thread. */
  onThreadFailure?: (reason: string) => void;
  /** Passed to the worker's handle (tests: a short stall bound, another worker script). */
  threadOptions?: Pick<SileroThreadOptions, 'stallTimeoutMs' | 'entry'>;
  /** See DEFAULT_SILERO_ONSET_LOOKBACK_MS; 0 counts speech from Silero's own onset. */
  onsetLookbackMs?: number;
}

/**
 * Silero v5 through onnxruntime-node: one model shared by every call (inference is stateless apart
 * from the [2,1,128] LSTM state each stream owns). 24 kHz input is resampled to 16 kHz.
 *
 * Streams with an event listener (the media cascade) are batched: a window waits up to `batchMs` (or
 * until a full batch waits) so that the windows of many calls run in one [b, 576] inference, which
 * costs less than half as much per window as single runs; the caller's VAD events come that much later.
 * With `batchMs` 0 a batch starts at the end of the current event-loop turn (setImmediate).
 *
 * By default the batches run in a worker thread (SileroThread), one at a time: windows that arrive
 * while one is in flight wait for the next, which starts as soon as the worker answers if they have
 * waited their `batchMs`. With `thread: 'main'` (or once the worker has failed) one batch runs per
 * event-loop turn on the main thread, so timers and socket reads run between batches. A burst of
 * audio from one call (its start-up replay) queues its windows, and they join successive batches.
 * Streams without a listener answer synchronously from process(), on the main thread.
 */
export class SileroVad extends VoiceActivityDetector {
  readonly driver = 'silero';
  /** The main thread's model: synchronous streams, and batches when there is no worker. */
  private model: SileroModel | undefined;
  private thread: SileroThread | undefined;
  private starting: Promise<void> | undefined;
  private readonly waiting: SileroStream[] = [];
  /** The batch in the worker, and each stream's generation when it was sent. */
  private inFlight: SileroStream[] | undefined;
  private readonly inFlightGenerations: number[] = [];
  /** Windows waiting while a batch was in flight have waited long enough: send them on its answer. */
  private due = false;
  /** A flush is pending: on the batch timer, or (a full batch, or leftovers) at the end of the turn. */
  private scheduled: 'no' | 'timer' | 'immediate' = 'no';
  private batchTimer: NodeJS.Timeout | undefined;
  private readonly batchMs: number;
  private readonly mode: SileroThreadMode;
  private disposed = false;
  /**
   * Inference runs and the windows they carried (batching efficiency), of which in the worker; failed
   * runs (their windows count as silence); windows dropped from a stream 5 s behind its worker.
   */
  readonly stats = { runs: 0, windows: 0, workerRuns: 0, failures: 0, dropped: 0 };
  /**
   * How long each batched window waited for its probability, from the frame that completed it (ms):
   * the delay the VAD adds to barge-in and end-of-turn detection. Grows without bound when inference
   * falls behind, which the event loop's lag does not show once it runs in the worker.
   */
  readonly delay = new Histogram(2000, 0.5);

  constructor(
    private readonly modelPath = sileroModelPath(),
    private readonly options: SileroVadOptions = {},
  ) {
    super();
    this.batchMs = Math.max(0, options.batchMs ?? DEFAULT_VAD_BATCH_MS);
    this.mode = options.thread ?? 'worker';
  }

  /** Where batches run now: 'worker' only once the worker has started and while it works. */
  get runsOn(): SileroThreadMode {
    return this.thread ? 'worker' : 'main';
  }

  /**
   * Windows per inference at most: more in the worker (see SILERO_WORKER_MAX_BATCH). Starting a worker
   * batch at 32 waiting windows instead was measured at 300 calls: VAD delay p50 3.5 ms but p99 23–25
   * ms (more round trips, each at the mercy of the loaded event loop), against 8 / 15 ms.
   */
  private get maxBatch(): number {
    return this.thread ? WORKER_MAX_BATCH : MAX_BATCH;
  }

  /** No window waits for a batch and none is in the worker. */
  get idle(): boolean {
    return this.waiting.length === 0 && this.inFlight === undefined;
  }

  /** Loads the main thread's model (~30 ms) so a broken install fails at boot. */
  init(): void {
    this.model ??= new SileroModel(this.modelPath);
  }

  /**
   * Loads the model and starts the worker (in 'worker' mode). A worker that cannot start is reported
   * to onThreadFailure and batches run on the main thread; a model that cannot load throws.
   */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.init();
      if (this.mode !== 'worker') return;
      try {
        const thread = await SileroThread.start({ modelPath: this.modelPath, ...this.options.threadOptions });
        if (this.disposed) return void (await thread.dispose());
        thread.onFailure((reason) => this.threadFailed(thread, reason));
        this.thread = thread;
      } catch (err) {
        this.options.onThreadFailure?.(err instanceof Error ? err.message : String(err));
      }
    })();
    return this.starting;
  }

  async createStream(sampleRate: number, options: Partial<VadOptions> = {}): Promise<VadStream> {
    await this.start();
    const resampler = sampleRate === RATE ? undefined : await Resampler.create(sampleRate, RATE);
    return new SileroStream(
      this,
      sampleRate,
      { ...DEFAULT_VAD_OPTIONS, ...options },
      resampler,
      this.options.onsetLookbackMs ?? DEFAULT_SILERO_ONSET_LOOKBACK_MS,
    );
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.scheduled = 'no';
    this.waiting.length = 0;
    const thread = this.thread;
    this.thread = undefined;
    this.model?.dispose();
    this.model = undefined;
    this.starting = undefined;
    await thread?.dispose();
  }

  /** A deferred stream has a window to run: it joins the next batch. */
  enqueue(stream: SileroStream): void {
    if (stream.waiting || this.disposed) return;
    stream.waiting = true;
    this.waiting.push(stream);
    if (this.waiting.length >= this.maxBatch || this.batchMs === 0) this.flushSoon();
    else if (!this.due) this.armBatchTimer();
  }

  /** The first waiting window starts the batch's wait of `batchMs` (unless a flush is pending). */
  private armBatchTimer(): void {
    if (this.scheduled !== 'no') return;
    this.scheduled = 'timer';
    this.batchTimer = setTimeout(this.flush, this.batchMs).unref();
  }

  /** Starts the next batch at the end of this event-loop turn (replacing a pending batch timer). */
  private flushSoon(): void {
    if (this.scheduled === 'immediate') return;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.scheduled = 'immediate';
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.scheduled = 'no';
    if (this.inFlight) {
      // The worker is busy: these windows go as soon as it answers.
      this.due = true;
      return;
    }
    this.due = false;
    try {
      const batch = this.waiting.splice(0, this.maxBatch);
      for (const stream of batch) stream.waiting = false;
      const live = batch.filter((stream) => stream.hasWindow());
      if (live.length === 0) return;
      if (this.thread) {
        this.send(this.thread, live);
        return;
      }
      this.run(live);
      this.requeue(live);
    } finally {
      // What is left has waited already: it goes next (and nothing thrown here may reach the event
      // loop, nor may a waiting stream be stranded).
      if (this.waiting.length > 0) {
        if (this.inFlight) this.due = true;
        else this.flushSoon();
      }
    }
  };

  /** A stream with another window (several frames in one turn) goes again: its state chains. */
  private requeue(batch: readonly SileroStream[]): void {
    for (const stream of batch) {
      if (stream.hasWindow() && !stream.waiting) {
        stream.waiting = true;
        this.waiting.push(stream);
        this.due = true;
      }
    }
  }

  /** The batch goes to the worker; its windows stay at the head of their streams until it answers. */
  private send(thread: SileroThread, batch: SileroStream[]): void {
    const b = batch.length;
    this.fill(batch, thread.views.input, thread.views.state);
    this.inFlightGenerations.length = b;
    for (let i = 0; i < b; i++) this.inFlightGenerations[i] = batch[i].generation;
    this.inFlight = batch;
    thread.submit(b, (ok) => this.answered(thread, batch, ok));
  }

  private answered(thread: SileroThread, batch: SileroStream[], ok: boolean): void {
    if (this.inFlight !== batch || this.disposed) return;
    this.inFlight = undefined;
    if (ok) {
      this.stats.runs++;
      this.stats.workerRuns++;
      this.stats.windows += batch.length;
      this.apply(batch, thread.views.probabilities, thread.views.next, this.inFlightGenerations);
    } else {
      this.stats.failures++;
      this.apply(batch, undefined, undefined, this.inFlightGenerations);
    }
    this.requeue(batch);
    if (this.waiting.length === 0) return;
    if (this.due || this.waiting.length >= this.maxBatch) this.flush();
    else this.armBatchTimer();
  }

  /** The worker died or hung: batches run on the main thread from now on. */
  private threadFailed(thread: SileroThread, reason: string): void {
    if (this.thread !== thread) return;
    this.thread = undefined;
    this.options.onThreadFailure?.(reason);
    // The batch in flight (if any) is failed by the thread right after this, and the waiting windows
    // then run here.
  }

  /**
   * One synchronous inference on the main thread over the next window of each stream. Never throws: a
   * failed run counts and reports silence, so one bad window cannot take the process down.
   */
  run(streams: readonly SileroStream[]): void {
    this.init();
    const b = streams.length;
    const model = this.model!;
    const feeds = model.feeds(b);
    this.fill(streams, feeds.input, feeds.state);
    let out: { probabilities: Float32Array; next: Float32Array } | undefined;
    try {
      out = model.run(b);
      this.stats.runs++;
      this.stats.windows += b;
    } catch {
      this.stats.failures++;
    }
    this.apply(streams, out?.probabilities, out?.next);
  }

  /** Rows of the batch: input [b, 576] and state [2, b, 128] (layer-major). */
  private fill(streams: readonly SileroStream[], input: Float32Array, state: Float32Array): void {
    const b = streams.length;
    for (let i = 0; i < b; i++) {
      const stream = streams[i];
      input.set(stream.nextWindow(), i * INPUT);
      state.set(stream.layer0, i * STATE);
      state.set(stream.layer1, (b + i) * STATE);
    }
  }

  /**
   * Hands each stream its window's probability and next state (silence when the run failed). A stream
   * reset or closed since its window was sent (another generation) takes nothing.
   */
  private apply(
    streams: readonly SileroStream[],
    probabilities: Float32Array | undefined,
    next: Float32Array | undefined,
    generations?: readonly number[],
  ): void {
    const b = streams.length;
    const now = performance.now();
    for (let i = 0; i < b; i++) {
      const stream = streams[i];
      if (generations && generations[i] !== stream.generation) continue;
      if (stream.deferred) this.delay.record(now - stream.nextWindowCutAt());
      if (next && probabilities) {
        // Element copies, not subarray views: no objects per window and stream.
        const s = stream.state;
        for (let k = 0, from = i * STATE; k < STATE; k++) s[k] = next[from + k];
        for (let k = 0, from = (b + i) * STATE; k < STATE; k++) s[STATE + k] = next[from + k];
      }
      try {
        stream.windowDone(probabilities ? probabilities[i] : 0);
      } catch {
        // A listener threw (the owner's bug): it must not stop the other calls of the batch.
        this.stats.failures++;
      }
    }
  }
}

class SileroStream implements VadStream {
  readonly frameMs = 20;
  /** LSTM state [2][128], carried from window to window (zeroed after a second of quiet). */
  readonly state = new Float32Array(2 * STATE);
  /** Consecutive windows below QUIET_PROBABILITY. */
  private quietWindows = 0;
  /** The state's two layers, as views made once (the batch copies them in every window). */
  readonly layer0 = this.state.subarray(0, STATE);
  readonly layer1 = this.state.subarray(STATE);
  /** In the batcher's queue. */
  waiting = false;
  /** Bumped by reset() and close(): a window sent before then must not touch the stream. */
  generation = 0;
  private readonly segmenter: VadSegmenter;
  /** Marks loud frames for the onset lookback; none when the lookback is off. */
  private readonly loudness: LoudnessGate | undefined;
  /** Last CONTEXT samples of the previous window. */
  private readonly context = new Float32Array(CONTEXT);
  /** Windows cut from the audio and not yet run (a ring; more than one only when frames bunch up). */
  private windows = Array.from({ length: QUEUE_SLOTS }, () => new Float32Array(INPUT));
  /** When each window of the ring was cut (performance.now()), for the VAD's delay. */
  private cutAt = new Float64Array(QUEUE_SLOTS);
  private windowHead = 0;
  private windowCount = 0;
  /** Samples waiting for a full window (a 20 ms frame is 320 samples, a window 512). */
  private readonly pending = new Float32Array(WINDOW + frameSamples(RATE) * 2);
  private pendingLength = 0;
  private probability = 0;
  /** Deferred frames, oldest first: how many windows each one completed, | LOUD_FRAME (a ring). */
  private frames = new Uint8Array(FRAME_SLOTS);
  private frameHead = 0;
  private frameCount = 0;
  /** Windows run but not yet consumed by their frames. */
  private windowsReady = 0;
  private readyProbability = 0;
  private listener: ((event: VadEvent) => void) | undefined;
  private closed = false;

  constructor(
    private readonly vad: SileroVad,
    readonly sampleRate: number,
    options: VadOptions,
    private readonly resampler: Resampler | undefined,
    onsetLookbackMs: number,
  ) {
    this.segmenter = new VadSegmenter(options, this.frameMs, onsetLookbackMs);
    this.loudness = onsetLookbackMs > 0 ? new LoudnessGate() : undefined;
  }

  onEvent(listener: (event: VadEvent) => void): void {
    this.listener = listener;
  }

  process(frame: Int16Array): VadFrameResult {
    if (this.closed) return { probability: 0 };
    const samples = this.resampler ? this.resampler.process(frame) : frame;
    let sumSquares = 0;
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i];
      sumSquares += v * v;
      this.pending[this.pendingLength++] = v / 32768;
    }
    const loud = this.loudness?.loud(sumSquares, samples.length) ?? false;
    let completed = 0;
    while (this.pendingLength >= WINDOW) if (this.cutWindow()) completed++;
    if (!this.listener) {
      // Synchronous mode: run the windows now.
      while (this.windowCount > 0) this.vad.run([this]);
      this.consume(completed);
      const event = this.segmenter.push(this.probability, loud);
      return event ? { probability: this.probability, event } : { probability: this.probability };
    }
    if (completed === 0 && this.frameCount === 0) {
      // Nothing in flight: this frame is decided now.
      const event = this.segmenter.push(this.probability, loud);
      return event ? { probability: this.probability, event } : { probability: this.probability };
    }
    if (this.frameCount === this.frames.length) this.growFrames();
    this.frames[(this.frameHead + this.frameCount++) % this.frames.length] = loud
      ? completed | LOUD_FRAME
      : completed;
    // Its windows may all have run already (a full window ring runs synchronously).
    if (this.windowCount > 0) this.vad.enqueue(this);
    else this.drain();
    return { probability: this.probability };
  }

  hasWindow(): boolean {
    return this.windowCount > 0 && !this.closed;
  }

  nextWindow(): Float32Array {
    return this.windows[this.windowHead];
  }

  nextWindowCutAt(): number {
    return this.cutAt[this.windowHead];
  }

  /** Batched: its frames are decided when their windows have run, and reported to the listener. */
  get deferred(): boolean {
    return this.listener !== undefined;
  }

  /** The batch ran this stream's oldest window: decide the deferred frames that were waiting for it. */
  windowDone(probability: number): void {
    this.quietWindows = probability < QUIET_PROBABILITY ? this.quietWindows + 1 : 0;
    if (this.quietWindows >= QUIET_RESET_WINDOWS) {
      this.state.fill(0);
      this.quietWindows = 0;
    }
    this.windowHead = (this.windowHead + 1) % this.windows.length;
    this.windowCount--;
    if (this.windowCount === 0 && this.windows.length > QUEUE_SLOTS) {
      // The burst is over: give its extra windows back.
      this.windowHead = 0;
      this.windows.length = QUEUE_SLOTS;
      this.cutAt = new Float64Array(QUEUE_SLOTS);
    }
    this.windowsReady++;
    this.readyProbability = probability;
    this.drain();
  }

  /** Decides the deferred frames whose windows have run, in order; their events go to the listener. */
  private drain(): void {
    while (this.frameCount > 0) {
      const entry = this.frames[this.frameHead];
      const needs = entry & ~LOUD_FRAME;
      if (needs > this.windowsReady) break;
      this.frameHead = (this.frameHead + 1) % this.frames.length;
      this.frameCount--;
      this.consume(needs);
      const event = this.segmenter.push(this.probability, entry >= LOUD_FRAME);
      if (event && this.listener && !this.closed) this.listener(event);
    }
    if (this.frameCount === 0 && this.frames.length > FRAME_SLOTS) {
      this.frames = new Uint8Array(FRAME_SLOTS);
      this.frameHead = 0;
    }
  }

  reset(): void {
    this.generation++;
    this.state.fill(0);
    this.quietWindows = 0;
    this.context.fill(0);
    this.windowCount = 0;
    this.windowHead = 0;
    this.windows.length = Math.min(this.windows.length, QUEUE_SLOTS);
    if (this.cutAt.length !== this.windows.length) this.cutAt = new Float64Array(this.windows.length);
    this.frameCount = 0;
    this.windowsReady = 0;
    this.pendingLength = 0;
    this.probability = 0;
    this.segmenter.reset();
    this.loudness?.reset();
    this.resampler?.reset();
  }

  close(): void {
    this.generation++;
    this.closed = true;
    this.windowCount = 0;
    this.resampler?.dispose();
  }

  private consume(windows: number): void {
    if (windows === 0) return;
    this.windowsReady -= windows;
    this.probability = this.readyProbability;
  }

  /** The window ring is full: double it (oldest first). False at the cap. */
  private growWindows(): boolean {
    const n = this.windows.length;
    if (n >= MAX_QUEUED_WINDOWS) return false;
    const ordered = Array.from({ length: n }, (_, k) => this.windows[(this.windowHead + k) % n]);
    for (let k = n; k < Math.min(2 * n, MAX_QUEUED_WINDOWS); k++) ordered.push(new Float32Array(INPUT));
    const cutAt = new Float64Array(ordered.length);
    for (let k = 0; k < n; k++) cutAt[k] = this.cutAt[(this.windowHead + k) % n];
    this.windows = ordered;
    this.cutAt = cutAt;
    this.windowHead = 0;
    return true;
  }

  /** The deferred-frame ring is full: double it, oldest first (it shrinks back once drained). */
  private growFrames(): void {
    const n = this.frames.length;
    const grown = new Uint8Array(2 * n);
    for (let k = 0; k < n; k++) grown[k] = this.frames[(this.frameHead + k) % n];
    this.frames = grown;
    this.frameHead = 0;
  }

  /**
   * input = [context (last 64 samples of the previous window) | window]. False when the window was
   * dropped: 5 s of windows already wait (its frames then reuse the last probability).
   */
  private cutWindow(): boolean {
    const room = this.windowCount < this.windows.length || this.growWindows();
    if (room) {
      const at = (this.windowHead + this.windowCount++) % this.windows.length;
      const slot = this.windows[at];
      this.cutAt[at] = performance.now();
      slot.set(this.context, 0);
      slot.set(this.pending.subarray(0, WINDOW), CONTEXT);
    } else {
      this.vad.stats.dropped++;
    }
    this.context.set(this.pending.subarray(WINDOW - CONTEXT, WINDOW));
    this.pending.copyWithin(0, WINDOW, this.pendingLength);
    this.pendingLength -= WINDOW;
    return room;
  }
}
