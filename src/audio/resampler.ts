// The SIMD build is 4× faster (≈10 µs per 20 ms frame at quality 5); Node 20 always has WASM SIMD.
import speexFactory from '@echogarden/speex-resampler-wasm/simd';

interface SpeexModule {
  HEAP16: Int16Array;
  HEAPU32: Uint32Array;
  HEAP32: Int32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(
    channels: number,
    inRate: number,
    outRate: number,
    quality: number,
    errPtr: number,
  ): number;
  _speex_resampler_process_int(
    st: number,
    channel: number,
    inPtr: number,
    inLenPtr: number,
    outPtr: number,
    outLenPtr: number,
  ): number;
  _speex_resampler_get_input_latency(st: number): number;
  _speex_resampler_reset_mem(st: number): number;
  _speex_resampler_destroy(st: number): void;
}

// One WASM instance per process, created on first use; every resampler gets its own state inside it.
let modulePromise: Promise<SpeexModule> | undefined;
function speex(): Promise<SpeexModule> {
  modulePromise ??= (speexFactory as unknown as () => Promise<SpeexModule>)();
  return modulePromise;
}

/**
 * Stateful PCM16 mono resampler (SpeexDSP compiled to WASM). Keeping the filter state across calls is
 * what avoids clicks at 20 ms frame edges. Buffers inside WASM memory are allocated once and grown
 * only when a larger chunk arrives.
 */
export class Resampler {
  private inPtr = 0;
  private outPtr = 0;
  private capacityIn = 0;
  private capacityOut = 0;
  private out = new Int16Array(0);
  private disposed = false;
  private readonly lenPtr: number;

  private constructor(
    private readonly m: SpeexModule,
    private readonly st: number,
    readonly inRate: number,
    readonly outRate: number,
  ) {
    this.lenPtr = m._malloc(8);
  }

  static async create(inRate: number, outRate: number, quality = 5): Promise<Resampler> {
    const m = await speex();
    const errPtr = m._malloc(4);
    try {
      const st = m._speex_resampler_init(1, inRate, outRate, quality, errPtr);
      const err = m.HEAP32[errPtr >> 2];
      if (!st || err !== 0)
        throw new Error(`speex resampler init failed (${inRate} → ${outRate} Hz, error ${err})`);
      return new Resampler(m, st, inRate, outRate);
    } finally {
      m._free(errPtr);
    }
  }

  /**
   * Resamples one chunk. Returns a view into an internal buffer, valid until the next call (copy it to
   * keep it). Output length varies by a sample between calls; over time it tracks the rate ratio.
   */
  process(input: Int16Array): Int16Array {
    if (this.disposed) throw new Error('resampler disposed');
    if (this.inRate === this.outRate) return input;
    const maxOut = Math.ceil((input.length * this.outRate) / this.inRate) + 16;
    this.ensureCapacity(input.length, maxOut);
    const m = this.m;
    m.HEAP16.set(input, this.inPtr >> 1);
    m.HEAPU32[this.lenPtr >> 2] = input.length;
    m.HEAPU32[(this.lenPtr >> 2) + 1] = maxOut;
    const rc = m._speex_resampler_process_int(
      this.st,
      0,
      this.inPtr,
      this.lenPtr,
      this.outPtr,
      this.lenPtr + 4,
    );
    if (rc !== 0) throw new Error(`speex resampler error ${rc}`);
    const produced = m.HEAPU32[(this.lenPtr >> 2) + 1];
    this.out.set(m.HEAP16.subarray(this.outPtr >> 1, (this.outPtr >> 1) + produced));
    return this.out.subarray(0, produced);
  }

  /** Pushes the filter's delay line out (call at end of stream); same view semantics as process(). */
  flush(): Int16Array {
    const latency = this.m._speex_resampler_get_input_latency(this.st);
    return this.process(new Int16Array(latency));
  }

  /** Input samples the filter holds back (its delay). */
  get inputLatency(): number {
    return this.m._speex_resampler_get_input_latency(this.st);
  }

  reset(): void {
    this.m._speex_resampler_reset_mem(this.st);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.m._speex_resampler_destroy(this.st);
    if (this.inPtr) this.m._free(this.inPtr);
    if (this.outPtr) this.m._free(this.outPtr);
    this.m._free(this.lenPtr);
  }

  private ensureCapacity(inSamples: number, outSamples: number): void {
    if (inSamples > this.capacityIn) {
      if (this.inPtr) this.m._free(this.inPtr);
      this.capacityIn = Math.max(inSamples, 1024);
      this.inPtr = this.m._malloc(this.capacityIn * 2);
    }
    if (outSamples > this.capacityOut) {
      if (this.outPtr) this.m._free(this.outPtr);
      this.capacityOut = Math.max(outSamples, 1024);
      this.outPtr = this.m._malloc(this.capacityOut * 2);
      this.out = new Int16Array(this.capacityOut);
    }
  }
}

/** Resamples a whole clip (files, synthesized sentences). */
export async function resampleAll(input: Int16Array, inRate: number, outRate: number): Promise<Int16Array> {
  if (inRate === outRate) return input;
  const r = await Resampler.create(inRate, outRate);
  try {
    const body = r.process(input).slice();
    const tail = r.flush();
    const out = new Int16Array(body.length + tail.length);
    out.set(body);
    out.set(tail, body.length);
    // Drop the filter delay at the start so the output is aligned with the input.
    const delay = Math.round((r.inputLatency * outRate) / inRate);
    return out.subarray(delay, delay + Math.round((input.length * outRate) / inRate));
  } finally {
    r.dispose();
  }
}
