import type { Clock } from './clock';
import { ClockPacer, PacerTimer, type Pacer } from './pacer';

/**
 * Per-call outbound audio queue. TTS PCM of any size goes in; exact 20 ms frames go out, paced so that
 * no more than `leadMs` of audio is ever ahead of real time: enough to ride out jitter, little enough
 * that a barge-in StopAudio discards only a short tail. It also keeps track of what the caller has
 * heard, so a cancelled reply keeps only heard words in history and a false barge-in can resume.
 *
 * Timeline: a playback run starts when audio is queued and nothing is playing; frame k of the run plays
 * during [start + 20k, start + 20(k+1)). A frame counts as heard once its slot has ended (never earlier),
 * so `heardMs` moves in 20 ms steps and never includes the lead.
 */
export const FRAME_MS = 20;

export interface PlayoutTag {
  generation: number;
  chunkIndex: number;
  text?: string;
}

export interface PlayoutOptions {
  clock: Clock;
  /** Bytes in 20 ms of PCM16 at the call rate: 640 at 16 kHz, 960 at 24 kHz. */
  frameBytes: number;
  /** How far ahead of real time audio may be sent (e.g. 100). */
  leadMs: number;
  /**
   * Fires the pacing timer; the service shares one between all calls (SharedPacer). Default: a timer of
   * `clock` per frame.
   */
  pacer?: Pacer;
  /** Sends one frame: `frame[byteOffset, byteOffset + byteLength)`. Valid during the call only. */
  send: (frame: Buffer, byteOffset: number, byteLength: number) => void;
  /** First frame of a generation sent (e2e_latency_ms / greeting_ttfb_ms). */
  onFirstFrame?: (generation: number, atMs: number) => void;
  /** Nothing queued and everything sent has finished playing. */
  onIdle?: () => void;
  /**
   * The frame holding the first byte of a chunk was sent; `offsetMs` is where the chunk starts in the
   * generation's audio, so `heardMs(generation) > offsetMs` means the caller heard some of it.
   */
  onChunkStart?: (generation: number, chunkIndex: number, text: string | undefined, offsetMs: number) => void;
  /**
   * A pacing timer fired to send a due frame, `lateMs` after its deadline (event-loop delay: the
   * service's share of outbound jitter). Once per such timer, about once per frame while playing.
   */
  onPacing?: (lateMs: number) => void;
}

/** Where playback was cut: the generation being played and how much of it the caller heard. */
export interface CutPoint {
  /** undefined when nothing was ever sent or queued. */
  generation: number | undefined;
  heardMs: number;
}

/** A run of whole frames in one buffer. */
interface Span {
  buf: Buffer;
  offset: number;
  count: number;
  /** Frames of this span already sent. */
  next: number;
  generation: number;
  /** Position of the span's first frame in its generation's audio, in frames. */
  pos: number;
  /** Re-queued after a pause: its events already fired. */
  replay: boolean;
}

/** A sent frame whose slot has not ended yet (reused records, no allocation per frame). */
interface InFlight {
  buf: Buffer;
  offset: number;
  generation: number;
  pos: number;
  playEnd: number;
}

interface ChunkStart {
  pos: number;
  chunkIndex: number;
  text: string | undefined;
  offsetMs: number;
}

interface GenerationState {
  /** Bytes enqueued (frames materialised + the partial carry). */
  bytes: number;
  /** Frames materialised into spans. */
  frames: number;
  heardFrames: number;
  started: boolean;
  lastChunk: number | undefined;
  starts: ChunkStart[];
  /** Entries of `starts` already announced. */
  fired: number;
}

const EMPTY = Buffer.alloc(0);
/** Guards the frame budget against float error from performance.now(). */
const EPSILON = 1e-6;

export class Playout {
  private readonly clock: Clock;
  private readonly frameBytes: number;
  private readonly leadMs: number;
  private readonly queue: Span[] = [];
  /** The last partial frame of the current segment, zero-filled beyond `filled`. */
  private carry: { buf: Buffer; filled: number; generation: number } | undefined;
  private readonly generations = new Map<number, GenerationState>();
  private inflight: InFlight[];
  private inflightHead = 0;
  private inflightLength = 0;
  private runStart = 0;
  private runSent = 0;
  private readonly pacer: Pacer;
  private readonly timer: PacerTimer;
  /** Deadline of the armed timer when it sends a due frame (NaN for the end-of-run timer). */
  private timerDue = Number.NaN;
  private paused: CutPoint | undefined;
  private active = false;
  private closed = false;
  private pumping = false;
  private pumpAgain = false;
  private lastSentGeneration: number | undefined;
  private sent = 0;
  private dropped = 0;
  private cancelled = 0;

  constructor(private readonly options: PlayoutOptions) {
    if (options.frameBytes <= 0 || options.frameBytes % 2 !== 0) {
      throw new RangeError(`frameBytes must be a positive even number, got ${options.frameBytes}`);
    }
    this.clock = options.clock;
    this.pacer = options.pacer ?? new ClockPacer(options.clock);
    this.timer = new PacerTimer(this.onTimer);
    this.frameBytes = options.frameBytes;
    this.leadMs = Math.max(0, options.leadMs);
    // In flight is bounded by lead/20 + 2 frames; the ring grows if a caller's clock says otherwise.
    this.inflight = newRecords(Math.floor(this.leadMs / FRAME_MS) + 3);
  }

  /** Frames handed to `send` (replays after resume included). */
  get sentFrames(): number {
    return this.sent;
  }

  /** Frames lost because `send` threw (socket gone): the delivery failures, not cancellations. */
  get droppedFrames(): number {
    return this.dropped;
  }

  /** Queued frames discarded by clear() or close() (a partial last frame counts as one). */
  get cancelledFrames(): number {
    return this.cancelled;
  }

  /** True while the caller is hearing, or about to hear, our audio. */
  get playing(): boolean {
    if (this.closed || this.paused) return false;
    return this.queue.length > 0 || this.clock.now() < this.runEnd();
  }

  /**
   * Appends PCM16 for a generation. Chunks of one generation are joined without gaps; the last partial
   * frame waits for more audio and is padded with silence by finish(generation), or automatically when a
   * different generation is enqueued. The bytes are copied once per call (not per frame), because the
   * playout may need them again after a pause; with `handedOver` the caller gives the buffer up (it is
   * never written again: a TTS chunk, a cached phrase) and whole frames play from it in place. At 200
   * calls those copies were megabytes a second of short-lived buffers, which bring major GCs sooner.
   */
  enqueue(pcm: Buffer, tag: PlayoutTag, handedOver = false): void {
    if (pcm.length % 2 !== 0) throw new RangeError(`PCM16 needs an even number of bytes, got ${pcm.length}`);
    if (this.closed || pcm.length === 0) return;
    const fb = this.frameBytes;
    const { generation } = tag;
    if (this.carry && this.carry.generation !== generation) this.padCarry();
    const st = this.state(generation);
    if (st.lastChunk !== tag.chunkIndex) {
      st.lastChunk = tag.chunkIndex;
      st.starts.push({
        pos: Math.floor(st.bytes / fb),
        chunkIndex: tag.chunkIndex,
        text: tag.text,
        offsetMs: (st.bytes / fb) * FRAME_MS,
      });
    }
    st.bytes += pcm.length;

    let read = 0;
    const carry = this.carry;
    if (carry) {
      read = Math.min(fb - carry.filled, pcm.length);
      pcm.copy(carry.buf, carry.filled, 0, read);
      carry.filled += read;
      if (carry.filled === fb) {
        this.carry = undefined;
        this.pushSpan(carry.buf, 0, 1, generation, st);
      }
    }
    const whole = Math.floor((pcm.length - read) / fb);
    if (whole > 0) {
      if (handedOver) {
        this.pushSpan(pcm, read, whole, generation, st);
      } else {
        const buf = Buffer.allocUnsafe(whole * fb);
        pcm.copy(buf, 0, read, read + whole * fb);
        this.pushSpan(buf, 0, whole, generation, st);
      }
      read += whole * fb;
    }
    if (read < pcm.length) {
      const buf = Buffer.alloc(fb); // zeroed: the unfilled tail is already the silence padding
      this.carry = { buf, filled: pcm.copy(buf, 0, read), generation };
    }
    this.pump();
  }

  /** End of a generation's audio (or of a segment): pads its last partial frame with silence and queues it. */
  finish(generation: number): void {
    if (this.carry?.generation !== generation) return;
    this.padCarry();
    this.pump();
  }

  /** Milliseconds of the generation's audio whose play slot has ended. */
  heardMs(generation: number): number {
    this.retire(this.clock.now());
    return (this.generations.get(generation)?.heardFrames ?? 0) * FRAME_MS;
  }

  /**
   * Stops sending at once (barge-in; the owner sends StopAudio) and reports the cut point. Frames sent but
   * not yet heard, which ACS drops on StopAudio, go back to the front of the queue so resume() replays
   * from the cut point. Calling it again while paused returns the same cut point.
   */
  pause(): CutPoint {
    if (this.paused) return this.paused;
    const now = this.clock.now();
    this.retire(now);
    this.cancelTimer();
    const generation =
      this.inflightLength > 0
        ? this.inflight[this.inflightHead].generation
        : (this.lastSentGeneration ?? this.queue[0]?.generation ?? this.carry?.generation);
    const replay: Span[] = [];
    while (this.inflightLength > 0) {
      const rec = this.inflight[this.inflightHead];
      const last = replay[replay.length - 1];
      // A handed-over buffer (a cached phrase) can be in several generations: merge only true runs.
      if (
        last &&
        last.buf === rec.buf &&
        rec.offset === last.offset + last.count * this.frameBytes &&
        rec.generation === last.generation &&
        rec.pos === last.pos + last.count
      ) {
        last.count++;
      } else {
        replay.push({
          buf: rec.buf,
          offset: rec.offset,
          count: 1,
          next: 0,
          generation: rec.generation,
          pos: rec.pos,
          replay: true,
        });
      }
      this.shiftInflight();
    }
    this.queue.unshift(...replay);
    this.runStart = now;
    this.runSent = 0;
    this.paused = {
      generation,
      heardMs: generation === undefined ? 0 : this.heardMs(generation),
    };
    return this.paused;
  }

  /** Continues after pause(): replays from the cut point on a fresh timeline, then the rest of the queue. */
  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = undefined;
    this.pump();
  }

  /**
   * Drops queued audio of one generation (or all), counted in cancelledFrames. Frames already sent and
   * not paused stay with ACS. Clearing everything, or the generation that pause() cut, also ends the
   * pause: there is nothing left to resume, and the next reply must play.
   */
  clear(generation?: number): void {
    this.discard(generation);
    if (this.paused && (generation === undefined || generation === this.paused.generation)) {
      this.paused = undefined;
    }
    this.pump();
  }

  /** Stops for good: clears the timer and discards what is queued. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelTimer();
    this.discard(undefined);
  }

  private discard(generation: number | undefined): void {
    const matches = (g: number) => generation === undefined || g === generation;
    let kept = 0;
    for (const span of this.queue) {
      if (matches(span.generation)) this.cancelled += span.count - span.next;
      else this.queue[kept++] = span;
    }
    this.queue.length = kept;
    if (this.carry && matches(this.carry.generation)) {
      this.cancelled++;
      this.carry = undefined;
    }
    for (const [g, st] of this.generations) {
      if (!matches(g)) continue;
      // Unsent chunk starts will never play; new audio for this generation starts frame-aligned.
      st.starts.length = st.fired;
      st.bytes = st.frames * this.frameBytes;
      st.lastChunk = undefined;
    }
  }

  private state(generation: number): GenerationState {
    let st = this.generations.get(generation);
    if (!st) {
      st = {
        bytes: 0,
        frames: 0,
        heardFrames: 0,
        started: false,
        lastChunk: undefined,
        starts: [],
        fired: 0,
      };
      this.generations.set(generation, st);
    }
    return st;
  }

  private pushSpan(
    buf: Buffer,
    offset: number,
    count: number,
    generation: number,
    st: GenerationState,
  ): void {
    this.queue.push({ buf, offset, count, next: 0, generation, pos: st.frames, replay: false });
    st.frames += count;
  }

  private padCarry(): void {
    const carry = this.carry;
    if (!carry) return;
    this.carry = undefined;
    this.pushSpan(carry.buf, 0, 1, carry.generation, this.state(carry.generation));
  }

  private runEnd(): number {
    return this.runStart + this.runSent * FRAME_MS;
  }

  /** Callbacks may re-enter (enqueue from onIdle, pause from onFirstFrame…): run one step at a time. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.step();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private step(): void {
    if (this.closed || this.paused) return;
    const now = this.clock.now();
    this.retire(now);
    if (this.queue.length > 0) {
      // Nothing left playing (first audio, after a drain, after a pause, or a timer so late the caller's
      // buffer ran dry): start a new timeline now, so the lead bound holds from here.
      if (now >= this.runEnd()) {
        this.runStart = now;
        this.runSent = 0;
      }
      const budget = Math.floor((now - this.runStart + this.leadMs) / FRAME_MS + EPSILON) + 1;
      while (this.runSent < budget && this.queue.length > 0 && !this.paused && !this.closed) {
        this.sendOne(now);
      }
    }
    if (this.closed || this.paused) return;
    if (this.queue.length > 0) {
      // Next frame is due when its slot comes within the lead: scheduled on the ideal timeline, no drift.
      this.timerDue = this.runEnd() - this.leadMs;
      this.pacer.arm(this.timer, this.timerDue);
    } else if (now < this.runEnd()) {
      this.timerDue = Number.NaN;
      this.pacer.arm(this.timer, this.runEnd());
    } else {
      this.cancelTimer();
      if (this.active) {
        this.active = false;
        this.options.onIdle?.();
      }
    }
  }

  private sendOne(now: number): void {
    const span = this.queue[0];
    const i = span.next++;
    if (span.next === span.count) this.queue.shift();
    const offset = span.offset + i * this.frameBytes;
    const pos = span.pos + i;
    this.runSent++;
    this.active = true;
    try {
      this.options.send(span.buf, offset, this.frameBytes);
    } catch {
      this.dropped++;
      return;
    }
    this.sent++;
    this.lastSentGeneration = span.generation;
    this.track(span.buf, offset, span.generation, pos, this.runEnd());
    if (!span.replay) this.announce(span.generation, pos, now);
  }

  private announce(generation: number, pos: number, now: number): void {
    const st = this.state(generation);
    if (!st.started) {
      st.started = true;
      this.options.onFirstFrame?.(generation, now);
    }
    while (st.fired < st.starts.length && st.starts[st.fired].pos <= pos) {
      const start = st.starts[st.fired++];
      this.options.onChunkStart?.(generation, start.chunkIndex, start.text, start.offsetMs);
    }
  }

  private track(buf: Buffer, offset: number, generation: number, pos: number, playEnd: number): void {
    if (this.inflightLength === this.inflight.length) {
      const grown = newRecords(this.inflight.length * 2);
      for (let k = 0; k < this.inflightLength; k++) {
        grown[k] = this.inflight[(this.inflightHead + k) % this.inflight.length];
      }
      this.inflight = grown;
      this.inflightHead = 0;
    }
    const rec = this.inflight[(this.inflightHead + this.inflightLength) % this.inflight.length];
    rec.buf = buf;
    rec.offset = offset;
    rec.generation = generation;
    rec.pos = pos;
    rec.playEnd = playEnd;
    this.inflightLength++;
  }

  /** Frames whose slot has ended are heard. */
  private retire(now: number): void {
    while (this.inflightLength > 0 && this.inflight[this.inflightHead].playEnd <= now + EPSILON) {
      this.state(this.inflight[this.inflightHead].generation).heardFrames++;
      this.shiftInflight();
    }
  }

  private shiftInflight(): void {
    this.inflight[this.inflightHead].buf = EMPTY; // let the audio be collected
    this.inflightHead = (this.inflightHead + 1) % this.inflight.length;
    this.inflightLength--;
  }

  private cancelTimer(): void {
    this.pacer.disarm(this.timer);
  }

  private readonly onTimer = (): void => {
    if (this.options.onPacing && !Number.isNaN(this.timerDue)) {
      this.options.onPacing(this.clock.now() - this.timerDue);
    }
    this.pump();
  };
}

function newRecords(n: number): InFlight[] {
  return Array.from({ length: n }, () => ({ buf: EMPTY, offset: 0, generation: 0, pos: 0, playEnd: 0 }));
}
