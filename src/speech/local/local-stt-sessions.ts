import type { Logger } from 'pino';
import { bufferView, int16View } from '../../audio/pcm';
import type { Resampler } from '../../audio/resampler';
import { DomainError } from '../../common/errors';
import type { Lease, ResourcePool } from '../../common/pool/resource-pool';
import type { ExpectedInput, SttEvent, SttListener, SttSession } from '../ports/speech-to-text.port';
import type { DecoderEvent, PocketsphinxDecoder } from './pocketsphinx/pocketsphinx-decoder';

/** The decoder's only input rate; other rates are resampled (statefully) in write(). */
export const DECODER_SAMPLE_RATE = 16_000;
const SAMPLES_PER_MS = DECODER_SAMPLE_RATE / 1000;
/** Audio is posted to the worker in batches: fewer messages than per-frame, still low latency. */
const BATCH_SAMPLES = SAMPLES_PER_MS * 60;
/**
 * Gated sessions keep this much of the latest audio: it covers the lead-in, the VAD's confirmation delay
 * (minimum speech, batching, a start-up replay of up to 2 s) and a wait for a free decoder.
 */
const RING_MS = 6_000;
/**
 * Audio before the VAD's onset handed to the decoder. The VAD reports the onset of the first run of
 * BARGE_IN_MIN_MS of speech, so a short first word before a pause ("six … oh six oh one") lies before
 * it; the decoder also needs some noise floor before the first word.
 */
const LEAD_IN_MS = 1_000;

/** Collects PCM16 bytes into fixed batches; a full batch is handed to `sink` (which may keep it). */
class Batcher {
  private batch = new Int16Array(BATCH_SAMPLES);
  private bytes = Buffer.from(this.batch.buffer);
  private filled = 0; // bytes

  constructor(private readonly sink: (samples: Int16Array) => void) {}

  write(frame: Buffer, length: number): void {
    let offset = 0;
    while (offset < length) {
      const n = Math.min(length - offset, this.bytes.length - this.filled);
      frame.copy(this.bytes, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.bytes.length) {
        this.sink(this.batch); // transferred to the worker: a new batch buffer
        this.batch = new Int16Array(BATCH_SAMPLES);
        this.bytes = Buffer.from(this.batch.buffer);
        this.filled = 0;
      }
    }
  }

  /** Sends the partly filled batch (a copy: the batch buffer stays ours). */
  flush(): void {
    if (this.filled === 0) return;
    this.sink(this.batch.slice(0, this.filled / 2));
    this.filled = 0;
  }

  clear(): void {
    this.filled = 0;
  }
}

/** Listeners, close-once and the resampler: what both kinds of session share. */
abstract class LocalSession implements SttSession {
  protected closed = false;
  private readonly listeners: SttListener[] = [];
  private closing: Promise<void> | undefined;
  private readonly onCloseCallbacks: Array<() => void> = [];

  constructor(
    protected readonly logger: Logger | undefined,
    private readonly resampler: Resampler | undefined,
  ) {}

  abstract write(frame: Buffer): void;
  abstract speechStarted(agoMs: number): void;
  abstract endUtterance(): void;
  abstract setExpectedInput(expected: ExpectedInput): void;
  protected abstract shutdown(): Promise<void>;

  onEvent(listener: SttListener): void {
    this.listeners.push(listener);
  }

  onClosed(callback: () => void): void {
    this.onCloseCallbacks.push(callback);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.resampler?.dispose();
      for (const callback of this.onCloseCallbacks.splice(0)) callback();
      await this.shutdown();
    })();
    return this.closing;
  }

  /** The frame at the decoder's rate (a view of the resampler's output when there is one). */
  protected decoderRate(input: Buffer): Buffer {
    return this.resampler ? bufferView(this.resampler.process(int16View(input))) : input;
  }

  protected emit(event: SttEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger?.error({ err, event: event.type }, 'speech-to-text listener threw');
      }
    }
  }

  protected emitFinal(event: Extract<DecoderEvent, { type: 'final' }>): void {
    this.logger?.debug(
      { decodeMs: Math.round(event.decodeMs * 10) / 10, words: event.words.length, auto: event.auto },
      'pocketsphinx final',
    );
    this.emit({
      type: 'final',
      text: event.text,
      words: event.words,
      startMs: event.startMs,
      endMs: event.endMs,
    });
  }
}

/** Gives a decoder back to its pool: released after its session state is dropped, discarded if broken. */
async function giveBack(lease: Lease<PocketsphinxDecoder>, logger: Logger | undefined): Promise<void> {
  const decoder = lease.resource;
  if (decoder.broken) {
    lease.discard('pocketsphinx decoder broken');
    return;
  }
  try {
    await decoder.close(); // bounded by the decoder's watchdog
    lease.release();
  } catch (err) {
    logger?.warn({ err }, 'pocketsphinx decoder did not close cleanly; discarding it');
    lease.discard(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Ungated: one decoder for the whole session, decoding all the audio (files, tests, owners without a
 * VAD). An utterance opens with the first audio after each final.
 */
export class ContinuousSttSession extends LocalSession {
  private readonly decoder: PocketsphinxDecoder;
  private readonly batcher: Batcher;

  constructor(
    private readonly lease: Lease<PocketsphinxDecoder>,
    logger?: Logger,
    resampler?: Resampler,
  ) {
    super(logger, resampler);
    this.decoder = lease.resource;
    this.batcher = new Batcher((samples) => this.decoder.write(samples));
  }

  async start(expected: ExpectedInput): Promise<void> {
    await this.decoder.open(expected, (event) => this.onDecoderEvent(event));
  }

  write(input: Buffer): void {
    if (this.closed) return;
    const frame = this.decoderRate(input);
    this.batcher.write(frame, frame.length & ~1); // whole PCM16 samples only
  }

  /** Everything is decoded anyway. */
  speechStarted(): void {}

  endUtterance(): void {
    if (this.closed) return;
    this.batcher.flush();
    this.decoder.endUtterance();
  }

  setExpectedInput(expected: ExpectedInput): void {
    if (this.closed) return;
    // Audio already batched belongs to the utterance before the switch.
    this.batcher.flush();
    this.decoder.setExpected(expected);
  }

  protected shutdown(): Promise<void> {
    return giveBack(this.lease, this.logger);
  }

  private onDecoderEvent(event: DecoderEvent): void {
    if (event.type === 'partial') this.emit({ type: 'partial', text: event.text });
    else if (event.type === 'final') this.emitFinal(event);
    else if (!this.closed) {
      this.emit({ type: 'error', error: event.error });
      void this.close();
    }
  }
}

/** One caller utterance of a gated session, and the decoder it holds from its start to its final. */
interface Utterance {
  /** Session sample where it starts (lead-in included). */
  startAt: number;
  lease?: Lease<PocketsphinxDecoder>;
  /** The decoder has the audio up to now and takes the rest live. */
  attached: boolean;
  /** endUtterance() was called (at session sample `endAt`); the final is awaited. */
  ended: boolean;
  endAt: number;
  readonly controller: AbortController;
}

/**
 * Gated (the owner's VAD marks utterances): audio goes into a ring while the caller is quiet, and a
 * decoder is leased from the pool only from speechStarted() to the final of endUtterance(). Noise
 * between turns is never decoded, each utterance starts with the expected input of its moment, and a
 * pool of a few decoders serves many calls, since callers speak a fraction of the time.
 */
export class GatedSttSession extends LocalSession {
  private readonly ring = new Int16Array(SAMPLES_PER_MS * RING_MS);
  private readonly ringBytes = bufferView(this.ring);
  /** Samples written since the session opened (the session clock of word timings). */
  private written = 0;
  private lastEnd = 0;
  private expected: ExpectedInput;
  /** The utterance taking live audio (between speechStarted and endUtterance). */
  private live: Utterance | undefined;
  /** Utterances holding or waiting for a decoder (the live one and those awaiting their final). */
  private readonly held = new Set<Utterance>();
  private readonly batcher: Batcher;

  constructor(
    private readonly pool: ResourcePool<PocketsphinxDecoder>,
    expected: ExpectedInput,
    logger?: Logger,
    resampler?: Resampler,
  ) {
    super(logger, resampler);
    this.expected = expected;
    this.batcher = new Batcher((samples) => this.live?.lease?.resource.write(samples));
  }

  write(input: Buffer): void {
    if (this.closed) return;
    const frame = this.decoderRate(input);
    const length = frame.length & ~1; // whole PCM16 samples only
    this.keep(frame, length);
    if (this.live?.attached) this.batcher.write(frame, length);
  }

  /**
   * The utterance starts `agoMs` before now, less the lead-in, but never before the end of the previous
   * one; its decoder is leased now, and the audio since its start is handed over when it arrives.
   */
  speechStarted(agoMs: number): void {
    if (this.closed || this.live) return;
    const wanted = Math.max(0, Math.round((agoMs + LEAD_IN_MS) * SAMPLES_PER_MS));
    const n = Math.min(wanted, this.ring.length, this.written - this.lastEnd);
    const utterance: Utterance = {
      startAt: this.written - n,
      attached: false,
      ended: false,
      endAt: 0,
      controller: new AbortController(),
    };
    this.live = utterance;
    this.held.add(utterance);
    void this.attach(utterance);
  }

  endUtterance(): void {
    if (this.closed) return;
    const utterance = this.live;
    if (!utterance) {
      // Nothing was marked as speech: nothing was decoded. The answer is an empty final, as from the
      // decoder (asynchronous, like every result).
      const at = this.written / SAMPLES_PER_MS;
      queueMicrotask(() => {
        if (!this.closed) this.emit({ type: 'final', text: '', words: [], startMs: at, endMs: at });
      });
      return;
    }
    utterance.ended = true;
    utterance.endAt = this.written;
    this.lastEnd = this.written;
    if (utterance.attached) {
      this.batcher.flush(); // to the live utterance's decoder
      utterance.lease!.resource.endUtterance();
    }
    // Not attached yet: attach() hands over the audio and ends it.
    this.live = undefined;
  }

  /** Applies from the next utterance (one in progress is the caller already answering). */
  setExpectedInput(expected: ExpectedInput): void {
    this.expected = expected;
  }

  protected async shutdown(): Promise<void> {
    this.live = undefined;
    const held = [...this.held];
    this.held.clear();
    await Promise.all(
      held.map((u) => {
        u.controller.abort();
        return u.lease ? giveBack(u.lease, this.logger) : undefined;
      }),
    );
  }

  private async attach(utterance: Utterance): Promise<void> {
    let lease: Lease<PocketsphinxDecoder>;
    try {
      lease = await this.pool.acquire({ signal: utterance.controller.signal });
    } catch (err) {
      if (!utterance.controller.signal.aborted) this.fail(err, 'no speech decoder for the utterance');
      return;
    }
    if (!this.held.has(utterance)) {
      lease.release(); // the session closed meanwhile
      return;
    }
    utterance.lease = lease;
    const decoder = lease.resource;
    try {
      await decoder.open(this.expected, (event) => this.onDecoderEvent(utterance, event), true);
    } catch (err) {
      if (this.held.has(utterance)) this.fail(err, 'speech decoder could not open');
      return;
    }
    if (!this.held.has(utterance)) return; // closed meanwhile: shutdown() gives the decoder back
    // Audio from the utterance's start to its end (or to now), as far as the ring still holds it.
    const end = utterance.ended ? utterance.endAt : this.written;
    const from = Math.max(utterance.startAt, this.written - this.ring.length);
    if (from > utterance.startAt)
      this.logger?.warn(
        { lostMs: Math.round((from - utterance.startAt) / SAMPLES_PER_MS) },
        'speech decoder arrived late: the start of the utterance is lost',
      );
    decoder.startUtterance(from);
    if (end > from) decoder.write(this.fromRing(from, end));
    if (utterance.ended) decoder.endUtterance();
    else {
      this.batcher.clear();
      utterance.attached = true;
    }
  }

  private onDecoderEvent(utterance: Utterance, event: DecoderEvent): void {
    if (this.closed) return;
    if (event.type === 'partial') {
      if (!utterance.ended) this.emit({ type: 'partial', text: event.text });
      return;
    }
    if (event.type === 'final') {
      this.emitFinal(event);
      // An over-long utterance closed by the worker goes on; the answer to endUtterance ends it.
      if (!event.auto && utterance.ended) this.release(utterance);
      return;
    }
    this.fail(event.error, 'speech decoder failed');
  }

  /** The utterance is over: its decoder goes back to the pool. */
  private release(utterance: Utterance): void {
    if (!this.held.delete(utterance)) return;
    if (utterance.lease) void giveBack(utterance.lease, this.logger);
  }

  /** The session cannot go on: an error event (the owner reopens), and the session closes. */
  private fail(err: unknown, what: string): void {
    if (this.closed) return;
    const error =
      err instanceof DomainError ? err : new DomainError('PROVIDER_ERROR', what, undefined, { cause: err });
    this.emit({ type: 'error', error });
    void this.close();
  }

  /** Appends `length` bytes of the frame to the ring, over the oldest audio. */
  private keep(frame: Buffer, length: number): void {
    const ring = this.ringBytes;
    // More than the ring holds (never for a 20 ms frame): only the newest part can be kept.
    let from = Math.max(0, length - ring.length);
    let at = (this.written * 2 + from) % ring.length;
    while (from < length) {
      const n = Math.min(length - from, ring.length - at);
      frame.copy(ring, at, from, from + n);
      from += n;
      at = 0;
    }
    this.written += length / 2;
  }

  /** A copy of session samples [from, to) from the ring (they must still be in it). */
  private fromRing(from: number, to: number): Int16Array {
    const ring = this.ring;
    const out = new Int16Array(to - from);
    const start = from % ring.length;
    const head = Math.min(out.length, ring.length - start);
    out.set(ring.subarray(start, start + head));
    if (head < out.length) out.set(ring.subarray(0, out.length - head), head);
    return out;
  }
}
