import { DomainError } from '../common/errors';

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 1 = integer PCM, 3 = IEEE float, 0xfffe = extensible, … */
  format: number;
  data: Buffer;
}

const FORMAT_NAMES: Record<number, string> = {
  1: 'PCM',
  3: 'IEEE float',
  6: 'A-law',
  7: 'µ-law',
  0xfffe: 'extensible',
};

export function isWav(buf: Buffer): boolean {
  return (
    buf.length >= 12 && buf.toString('ascii', 0, 4) === 'RIFF' && buf.toString('ascii', 8, 12) === 'WAVE'
  );
}

/** Parses a RIFF/WAVE file (any format); errors name what is wrong. */
export function readWav(buf: Buffer): WavInfo {
  if (!isWav(buf)) throw new DomainError('BAD_REQUEST', 'not a WAV file (no RIFF/WAVE header)');
  let offset = 12;
  let fmt: Omit<WavInfo, 'data'> | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length)
        throw new DomainError('BAD_REQUEST', `WAV fmt chunk too short or truncated (${size} bytes)`);
      let format = buf.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE carries the real format in its sub-format GUID.
      if (format === 0xfffe && size >= 40) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new DomainError('BAD_REQUEST', 'WAV data chunk before its fmt chunk');
      // Streams written before their length is known carry 0 or 0xffffffff: take what is there.
      const end = size === 0 || size === 0xffffffff ? buf.length : Math.min(buf.length, body + size);
      return {
        ...fmt,
        data: buf.subarray(body, end - ((end - body) % Math.max(1, (fmt.bitsPerSample / 8) * fmt.channels))),
      };
    }
    offset = body + size + (size % 2);
  }
  throw new DomainError('BAD_REQUEST', fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk');
}

export function describeWav(info: Omit<WavInfo, 'data'>): string {
  const name = FORMAT_NAMES[info.format] ?? `format ${info.format}`;
  return `${info.sampleRate} Hz, ${info.channels} channel${info.channels === 1 ? '' : 's'}, ${info.bitsPerSample}-bit ${name}`;
}

export interface Pcm16Audio {
  sampleRate: number;
  /** Little-endian PCM16 mono bytes. */
  pcm: Buffer;
}

/**
 * Audio for the speech engines: a WAV file must be PCM16 mono (anything else is rejected with what
 * was found); anything without a RIFF header is raw PCM16 mono little-endian at `rawSampleRate`.
 */
export function decodePcm16Mono(buf: Buffer, rawSampleRate: number): Pcm16Audio {
  if (isWav(buf)) {
    const info = readWav(buf);
    if (info.format !== 1 || info.bitsPerSample !== 16 || info.channels !== 1) {
      throw new DomainError('BAD_REQUEST', `expected PCM16 mono WAV, found ${describeWav(info)}`);
    }
    return { sampleRate: info.sampleRate, pcm: info.data };
  }
  if (buf.length % 2 !== 0) {
    throw new DomainError(
      'BAD_REQUEST',
      `raw PCM16 needs an even number of bytes, found ${buf.length} (not PCM16 mono?)`,
    );
  }
  return { sampleRate: rawSampleRate, pcm: buf };
}

/** A PCM16 mono WAV file. */
export function encodeWav(pcm: Buffer, sampleRate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}
