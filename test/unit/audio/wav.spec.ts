import { decodePcm16Mono, encodeWav, readWav } from '../../../src/audio/wav';
import { FrameAssembler, frameBytes, int16View, levelDbfs } from '../../../src/audio/pcm';

function wavHeader({ format = 1, channels = 1, rate = 16000, bits = 16 }, dataBytes = 8): Buffer {
  const pcm = Buffer.alloc(dataBytes);
  const wav = encodeWav(pcm, rate);
  wav.writeUInt16LE(format, 20);
  wav.writeUInt16LE(channels, 22);
  wav.writeUInt16LE(bits, 34);
  return wav;
}

describe('WAV and raw PCM input', () => {
  it('round-trips PCM16 mono through encodeWav / decodePcm16Mono', () => {
    const pcm = Buffer.from(new Int16Array([0, 1000, -1000, 32767, -32768]).buffer);
    const decoded = decodePcm16Mono(encodeWav(pcm, 24000), 16000);
    expect(decoded.sampleRate).toBe(24000);
    expect(Buffer.compare(decoded.pcm, pcm)).toBe(0);
  });

  it('treats a file without a RIFF header as raw PCM16 at the given rate', () => {
    expect(decodePcm16Mono(Buffer.alloc(640), 16000)).toMatchObject({ sampleRate: 16000 });
  });

  it('rejects WAV files that are not PCM16 mono, naming what was found', () => {
    expect(() => decodePcm16Mono(wavHeader({ channels: 2, rate: 44100 }), 16000)).toThrow(
      'expected PCM16 mono WAV, found 44100 Hz, 2 channels, 16-bit PCM',
    );
    expect(() => decodePcm16Mono(wavHeader({ format: 3, bits: 32 }), 16000)).toThrow(
      'found 16000 Hz, 1 channel, 32-bit IEEE float',
    );
    expect(() => decodePcm16Mono(wavHeader({ format: 7, bits: 8 }), 16000)).toThrow('8-bit µ-law');
  });

  it('rejects raw input with an odd number of bytes and broken WAV files with a reason', () => {
    expect(() => decodePcm16Mono(Buffer.alloc(641), 16000)).toThrow(/even number of bytes, found 641/);
    const truncated = encodeWav(Buffer.alloc(10), 16000).subarray(0, 30);
    expect(() => readWav(truncated)).toThrow(/no fmt chunk|fmt chunk too short|no data chunk/);
  });
});

describe('PCM helpers', () => {
  it('sizes 20 ms frames for 16 and 24 kHz', () => {
    expect(frameBytes(16000)).toBe(640);
    expect(frameBytes(24000)).toBe(960);
  });

  it('cuts arbitrary chunks into fixed frames and pads the last one with silence', () => {
    const a = new FrameAssembler(4);
    const frames: number[][] = [];
    a.push(Buffer.from([1, 2, 3]), (f) => frames.push([...f]));
    a.push(Buffer.from([4, 5, 6, 7, 8, 9]), (f) => frames.push([...f]));
    a.flush((f) => frames.push([...f]));
    expect(frames).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 0, 0, 0],
    ]);
  });

  it('views aligned buffers without copying and copies misaligned ones', () => {
    const buf = Buffer.from(new Int16Array([1, 2, 3]).buffer);
    expect(int16View(buf).buffer).toBe(buf.buffer);
    const misaligned = Buffer.concat([Buffer.alloc(1), buf]).subarray(1);
    expect([...int16View(misaligned)]).toEqual([1, 2, 3]);
  });

  it('measures level in dBFS', () => {
    expect(levelDbfs(new Int16Array(320))).toBe(-Infinity);
    expect(levelDbfs(new Int16Array(320).fill(32767))).toBeCloseTo(0, 1);
    expect(levelDbfs(new Int16Array(320).fill(3277))).toBeCloseTo(-20, 0);
  });
});
