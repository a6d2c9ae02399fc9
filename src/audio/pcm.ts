/** PCM16 mono helpers shared by every module. Allocation-light: views where alignment allows. */

export const BYTES_PER_SAMPLE = 2;

/** Bytes in `ms` of PCM16 mono at `sampleRate` (640 for 20 ms at 16 kHz). */
export function frameBytes(sampleRate: number, ms = 20): number {
  return Math.round((sampleRate * ms) / 1000) * BYTES_PER_SAMPLE;
}

export function frameSamples(sampleRate: number, ms = 20): number {
  return Math.round((sampleRate * ms) / 1000);
}

/** Int16 view over a Buffer's bytes (little-endian hosts); copies only when the buffer is misaligned. */
export function int16View(buf: Buffer | Uint8Array): Int16Array {
  if (buf.byteLength % 2 !== 0)
    throw new RangeError(`PCM16 needs an even number of bytes, got ${buf.byteLength}`);
  if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
  const copy = new Int16Array(buf.byteLength / 2);
  new Uint8Array(copy.buffer).set(buf);
  return copy;
}

/** Buffer view over Int16 samples (no copy). */
export function bufferView(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Root-mean-square level in dBFS (−Infinity for digital silence). */
export function levelDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768);
}

/**
 * Cuts a stream of arbitrary-size PCM16 chunks into fixed frames. The frame handed to `onFrame` is a
 * reused buffer, valid only during the callback (copy it to keep it).
 */
export class FrameAssembler {
  private readonly frame: Buffer;
  private filled = 0;

  constructor(readonly frameBytes: number) {
    this.frame = Buffer.alloc(frameBytes);
  }

  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      chunk.copy(this.frame, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        onFrame(this.frame);
        this.filled = 0;
      }
    }
  }

  /** Emits the partial last frame padded with silence; nothing if empty. */
  flush(onFrame: (frame: Buffer) => void): void {
    if (this.filled === 0) return;
    this.frame.fill(0, this.filled);
    this.filled = 0;
    onFrame(this.frame);
  }

  get pendingBytes(): number {
    return this.filled;
  }
}

/** The parts one after the other, in a new array. */
export function concatSamples(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
