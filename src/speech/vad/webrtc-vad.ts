import fvadFactory from '@echogarden/fvad-wasm';
import { Resampler } from '../../audio/resampler';
import {
  DEFAULT_VAD_OPTIONS,
  VoiceActivityDetector,
  type VadFrameResult,
  type VadOptions,
  type VadStream,
} from '../ports';
import { VadSegmenter } from './vad-segmenter';

interface FvadModule {
  HEAP16: Int16Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _fvad_new(): number;
  _fvad_free(inst: number): void;
  _fvad_set_mode(inst: number, mode: number): number;
  _fvad_set_sample_rate(inst: number, rate: number): number;
  _fvad_process(inst: number, ptr: number, samples: number): number;
  _fvad_reset(inst: number): void;
}

/** Rates libfvad accepts natively; anything else is resampled to 16 kHz. */
const NATIVE_RATES = new Set([8000, 16000, 32000, 48000]);

/**
 * WebRTC VAD (libfvad in WASM): ~2 µs per frame, binary speech/non-speech decisions. Good in clean
 * audio and white noise, weak in babble/pink noise; the cheap option for very high call density.
 */
export class WebRtcVad extends VoiceActivityDetector {
  readonly driver = 'webrtc';
  private module: Promise<FvadModule> | undefined;

  /** 0 (quality) … 3 (very aggressive); 3 rejects the most noise. */
  constructor(private readonly mode = 3) {
    super();
  }

  async init(): Promise<void> {
    await this.load();
  }

  private load(): Promise<FvadModule> {
    this.module ??= (fvadFactory as unknown as () => Promise<FvadModule>)();
    return this.module;
  }

  async createStream(sampleRate: number, options: Partial<VadOptions> = {}): Promise<VadStream> {
    const m = await this.load();
    const rate = NATIVE_RATES.has(sampleRate) ? sampleRate : 16000;
    const resampler = rate === sampleRate ? undefined : await Resampler.create(sampleRate, rate);
    const inst = m._fvad_new();
    if (!inst) throw new Error('fvad_new failed');
    if (m._fvad_set_mode(inst, this.mode) !== 0 || m._fvad_set_sample_rate(inst, rate) !== 0) {
      m._fvad_free(inst);
      throw new Error(`fvad rejected mode ${this.mode} / rate ${rate}`);
    }
    return new WebRtcStream(m, inst, rate, { ...DEFAULT_VAD_OPTIONS, ...options }, resampler);
  }
}

class WebRtcStream implements VadStream {
  readonly frameMs = 20;
  private readonly segmenter: VadSegmenter;
  private readonly frameLength: number;
  private readonly ptr: number;
  private readonly carry: Int16Array;
  /** The carry's first frame: one view for the stream's life instead of a subarray per frame. */
  private readonly carryFrame: Int16Array;
  private carryLength = 0;
  private last = 0;
  private closed = false;

  constructor(
    private readonly m: FvadModule,
    private readonly inst: number,
    rate: number,
    options: VadOptions,
    private readonly resampler: Resampler | undefined,
  ) {
    this.segmenter = new VadSegmenter(options, this.frameMs);
    this.frameLength = (rate / 1000) * this.frameMs;
    this.ptr = m._malloc(this.frameLength * 2);
    this.carry = new Int16Array(this.frameLength * 2);
    this.carryFrame = this.carry.subarray(0, this.frameLength);
  }

  process(frame: Int16Array): VadFrameResult {
    const samples = this.resampler ? this.resampler.process(frame) : frame;
    // The resampler's output length wobbles by a sample; keep exact 20 ms frames for libfvad.
    this.carry.set(samples, this.carryLength);
    this.carryLength += samples.length;
    if (this.carryLength >= this.frameLength) {
      this.m.HEAP16.set(this.carryFrame, this.ptr >> 1);
      const r = this.m._fvad_process(this.inst, this.ptr, this.frameLength);
      this.last = r === 1 ? 1 : 0;
      this.carry.copyWithin(0, this.frameLength, this.carryLength);
      this.carryLength -= this.frameLength;
    }
    const event = this.segmenter.push(this.last);
    return event ? { probability: this.last, event } : { probability: this.last };
  }

  reset(): void {
    this.m._fvad_reset(this.inst);
    this.carryLength = 0;
    this.segmenter.reset();
    this.resampler?.reset();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.m._fvad_free(this.inst);
    this.m._free(this.ptr);
    this.resampler?.dispose();
  }
}
