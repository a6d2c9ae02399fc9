/**
 * The ACS media streaming protocol as a pure codec: a raw WebSocket frame → a typed inbound message or a
 * typed error (never a throw), and typed outbound messages → wire text. Kinds and payload keys are
 * matched case-insensitively (ACS uses `AudioData`, SDK helpers `audioData`, old samples `Kind`).
 */

export interface AudioMetadataFrame {
  kind: 'AudioMetadata';
  sampleRate: number;
  channels: number;
  encoding: string;
  /** Bytes per AudioData frame (640 = 20 ms at 16 kHz). */
  frameBytes: number;
  subscriptionId?: string;
}

export interface AudioDataFrame {
  kind: 'AudioData';
  /**
   * Decoded PCM16 bytes written into the caller's scratch buffer: valid for `byteLength` bytes until the
   * next decode. Silent frames carry no bytes (`byteLength` 0) — the consumer substitutes silence.
   */
  pcm: Buffer;
  byteLength: number;
  silent: boolean;
  timestamp?: string;
  participantRawId?: string;
}

export interface DtmfFrame {
  kind: 'DtmfData';
  digit: string;
}

export interface TranscriptionMetadataFrame {
  kind: 'TranscriptionMetadata';
  locale?: string;
  callConnectionId?: string;
}

export interface TranscriptionDataFrame {
  kind: 'TranscriptionData';
  text: string;
  final: boolean;
  confidence?: number;
  /** Offset and duration in ms (ACS sends 100 ns ticks). */
  offsetMs?: number;
  durationMs?: number;
  participantRawId?: string;
}

export type InboundFrame =
  AudioMetadataFrame | AudioDataFrame | DtmfFrame | TranscriptionMetadataFrame | TranscriptionDataFrame;
export type InboundKind = InboundFrame['kind'];

export type CodecErrorCode =
  | 'binary_frame'
  | 'malformed_json'
  | 'not_an_object'
  | 'missing_kind'
  | 'unknown_kind'
  | 'missing_payload'
  | 'invalid_field'
  | 'too_large';

export interface CodecError {
  code: CodecErrorCode;
  reason: string;
  kind?: string;
}

export type DecodeResult = { ok: true; frame: InboundFrame } | { ok: false; error: CodecError };

const KINDS: Record<string, InboundKind> = {
  audiometadata: 'AudioMetadata',
  audiodata: 'AudioData',
  dtmfdata: 'DtmfData',
  transcriptionmetadata: 'TranscriptionMetadata',
  transcriptiondata: 'TranscriptionData',
};

const PAYLOAD_KEYS: Record<InboundKind, string> = {
  AudioMetadata: 'audiometadata',
  AudioData: 'audiodata',
  DtmfData: 'dtmfdata',
  TranscriptionMetadata: 'transcriptionmetadata',
  TranscriptionData: 'transcriptiondata',
};

const SAMPLE_RATES = new Set([8000, 16000, 24000, 48000]);
const DTMF = /^[0-9*#A-D]$/;
const TICKS_PER_MS = 10_000;
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (code: CodecErrorCode, reason: string, kind?: string): DecodeResult => ({
  ok: false,
  error: { code, reason, ...(kind ? { kind } : {}) },
});

/**
 * The value of `key` in `o`, matching the key case-insensitively (exact match first: the common case).
 * Runs on every frame for keys ACS often omits, so the fallback scan allocates nothing (no key array,
 * no lower-cased copies) for ASCII keys.
 */
function field(o: Json, key: string): unknown {
  if (key in o) return o[key];
  for (const k in o) if (Object.hasOwn(o, k) && sameKeyIgnoringCase(k, key)) return o[k];
  return undefined;
}

/** `k.toLowerCase() === key.toLowerCase()` for an ASCII `key`, without allocating when `k` is ASCII. */
function sameKeyIgnoringCase(k: string, key: string): boolean {
  for (let i = 0; i < k.length; i++) if (k.charCodeAt(i) > 0x7f) return k.toLowerCase() === key.toLowerCase();
  if (k.length !== key.length) return false;
  for (let i = 0; i < k.length; i++)
    if (lowerAscii(k.charCodeAt(i)) !== lowerAscii(key.charCodeAt(i))) return false;
  return true;
}

const lowerAscii = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

const NO_BYTES = Buffer.alloc(0);
const TOP_KEYS = [Buffer.from('kind'), Buffer.from('audioData')];
const AUDIO_KIND = [Buffer.from('AudioData')];
/** Indexes matter: data, timestamp, participantRawID, silent. */
const AUDIO_KEYS = [
  Buffer.from('data'),
  Buffer.from('timestamp'),
  Buffer.from('participantRawID'),
  Buffer.from('silent'),
];
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Value of each base64 byte, -1 for anything else. */
const BASE64_VALUES = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) BASE64_VALUES[BASE64_ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d; // '='

export interface DecoderOptions {
  /** Largest accepted text frame (characters); larger → `too_large`. */
  maxFrameChars: number;
}

/**
 * Decodes inbound frames. One decoder per call: AudioData is base64-decoded into its scratch buffer,
 * so a call's audio path allocates nothing per frame beyond the JSON parse.
 */
export class AcsMediaDecoder {
  private scratch: Buffer;
  /** fastAudio's cursor over the frame being read. */
  private bytes: Buffer = NO_BYTES;
  private pos = 0;
  private strStart = 0;
  private strEnd = 0;

  constructor(private readonly options: DecoderOptions = { maxFrameChars: 256 * 1024 }) {
    this.scratch = Buffer.alloc(4096);
  }

  decode(raw: string | Buffer, isBinary = false): DecodeResult {
    if (isBinary) return fail('binary_frame', 'binary frames are not part of the ACS media protocol');
    if (typeof raw !== 'string' && raw.length <= this.options.maxFrameChars) {
      const fast = this.fastAudio(raw);
      if (fast) return fast;
    }
    const text = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (text.length > this.options.maxFrameChars)
      return fail('too_large', `frame of ${text.length} characters exceeds ${this.options.maxFrameChars}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail('malformed_json', 'frame is not valid JSON');
    }
    if (!isObject(parsed)) return fail('not_an_object', 'frame must be a JSON object');
    const kindValue = field(parsed, 'kind');
    if (typeof kindValue !== 'string' || !kindValue) return fail('missing_kind', 'frame has no kind');
    const kind = KINDS[kindValue.toLowerCase()];
    if (!kind) return fail('unknown_kind', `unknown kind ${kindValue.slice(0, 64)}`, kindValue.slice(0, 64));
    const payload = field(parsed, PAYLOAD_KEYS[kind]);
    if (!isObject(payload)) return fail('missing_payload', `${kind} frame has no ${kind} object`, kind);
    switch (kind) {
      case 'AudioMetadata':
        return this.metadata(payload);
      case 'AudioData':
        return this.audio(payload);
      case 'DtmfData':
        return this.dtmf(payload);
      case 'TranscriptionMetadata':
        return {
          ok: true,
          frame: {
            kind,
            locale: str(field(payload, 'locale')),
            callConnectionId: str(field(payload, 'callConnectionId')),
          },
        };
      case 'TranscriptionData':
        return this.transcription(payload);
    }
  }

  private metadata(p: Json): DecodeResult {
    const sampleRate = num(field(p, 'sampleRate'));
    if (sampleRate === undefined || !SAMPLE_RATES.has(sampleRate))
      return fail(
        'invalid_field',
        'AudioMetadata.sampleRate must be 8000, 16000, 24000 or 48000',
        'AudioMetadata',
      );
    const channels = num(field(p, 'channels')) ?? 1;
    if (channels !== 1)
      return fail('invalid_field', 'AudioMetadata.channels must be 1 (mono)', 'AudioMetadata');
    const encoding = str(field(p, 'encoding')) ?? 'PCM';
    if (encoding.toUpperCase() !== 'PCM')
      return fail('invalid_field', 'AudioMetadata.encoding must be PCM', 'AudioMetadata');
    const length = num(field(p, 'length'));
    const frameBytes =
      length !== undefined && length > 0 && length % 2 === 0 ? length : (sampleRate / 50) * 2;
    return {
      ok: true,
      frame: {
        kind: 'AudioMetadata',
        sampleRate,
        channels,
        encoding,
        frameBytes,
        subscriptionId: str(field(p, 'subscriptionId')),
      },
    };
  }

  private audio(p: Json): DecodeResult {
    const silent = field(p, 'silent') === true;
    const data = field(p, 'data');
    const timestamp = str(field(p, 'timestamp'));
    const participantRawId = str(field(p, 'participantRawID')) ?? str(field(p, 'participantRawId'));
    if (silent) {
      return {
        ok: true,
        frame: { kind: 'AudioData', pcm: this.scratch, byteLength: 0, silent, timestamp, participantRawId },
      };
    }
    if (typeof data !== 'string' || data.length === 0)
      return fail('invalid_field', 'AudioData.data must be base64 PCM', 'AudioData');
    // Exact decoded size for padded base64; a string that is not base64 decodes short and is caught below.
    const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
    const expected = Math.floor((data.length * 3) / 4) - padding;
    if (expected > this.scratch.length)
      this.scratch = Buffer.alloc(Math.max(expected, this.scratch.length * 2));
    const byteLength = this.scratch.write(data, 0, 'base64');
    if (byteLength !== expected || data.length % 4 !== 0)
      return fail('invalid_field', 'AudioData.data is not valid base64', 'AudioData');
    if (byteLength % 2 !== 0)
      return fail('invalid_field', 'AudioData.data has an odd number of bytes (PCM16)', 'AudioData');
    return {
      ok: true,
      frame: { kind: 'AudioData', pcm: this.scratch, byteLength, silent, timestamp, participantRawId },
    };
  }

  /**
   * AudioData straight from the frame's bytes, for the plain shape ACS sends 50 times a second per call
   * (`{"kind":"AudioData","audioData":{"timestamp":…,"participantRawID":…,"data":…,"silent":…}}`, those
   * exact keys, ASCII strings without escapes, canonical base64): no message string, no parsed objects,
   * no base64 string. Anything else, valid or not, returns undefined and takes the general path, which
   * gives the same answer for what this accepts (the codec tests check both paths against each other).
   */
  private fastAudio(b: Buffer): DecodeResult | undefined {
    this.bytes = b;
    this.pos = 0;
    try {
      return this.readAudioMessage();
    } finally {
      this.bytes = NO_BYTES;
    }
  }

  private readAudioMessage(): DecodeResult | undefined {
    if (!this.punct(0x7b)) return undefined; // {
    let kind = false;
    let payload = false;
    let silent: boolean | undefined;
    let data = -1;
    let dataEnd = -1;
    let timestamp: string | undefined;
    let participant: string | undefined;
    for (;;) {
      if (!this.str()) return undefined;
      const key = this.keyOf(TOP_KEYS);
      if (!this.punct(0x3a)) return undefined; // :
      if (key === 0 && !kind) {
        if (!this.str() || this.keyOf(AUDIO_KIND) !== 0) return undefined;
        kind = true;
      } else if (key === 1 && !payload) {
        payload = true;
        if (!this.punct(0x7b)) return undefined;
        let seen = 0; // bit per AUDIO_KEYS entry
        for (;;) {
          if (!this.str()) return undefined;
          const field = this.keyOf(AUDIO_KEYS);
          if (field < 0 || seen & (1 << field) || !this.punct(0x3a)) return undefined;
          seen |= 1 << field;
          if (field === 3) {
            silent = this.bool();
            if (silent === undefined) return undefined;
          } else {
            // The audio payload is scanned natively for its closing quote; base64() then rejects any
            // byte outside the alphabet (an escape, a control or non-ASCII byte → the general parser).
            if (!(field === 0 ? this.rawStr() : this.str())) return undefined;
            if (field === 0) {
              data = this.strStart;
              dataEnd = this.strEnd;
            } else if (this.strEnd > this.strStart) {
              const value = this.bytes.toString('latin1', this.strStart, this.strEnd);
              if (field === 1) timestamp = value;
              else participant = value;
            }
          }
          if (this.punct(0x2c)) continue; // ,
          if (this.punct(0x7d)) break; // }
          return undefined;
        }
      } else return undefined;
      if (this.punct(0x2c)) continue;
      if (this.punct(0x7d)) break;
      return undefined;
    }
    this.space();
    if (this.pos !== this.bytes.length || !kind || !payload) return undefined;
    if (silent === true) {
      // base64() does not run on a silent frame's payload, so its bytes are checked here as str() would.
      if (data >= 0 && !this.plainAscii(data, dataEnd)) return undefined;
      return {
        ok: true,
        frame: {
          kind: 'AudioData',
          pcm: this.scratch,
          byteLength: 0,
          silent,
          timestamp,
          participantRawId: participant,
        },
      };
    }
    const byteLength = data < 0 ? -1 : this.base64(data, dataEnd);
    if (byteLength <= 0 || byteLength % 2 !== 0) return undefined;
    return {
      ok: true,
      frame: {
        kind: 'AudioData',
        pcm: this.scratch,
        byteLength,
        silent: false,
        timestamp,
        participantRawId: participant,
      },
    };
  }

  private space(): void {
    const b = this.bytes;
    while (this.pos < b.length) {
      const c = b[this.pos];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  /** Skips whitespace, then consumes `c` if it is next. */
  private punct(c: number): boolean {
    this.space();
    if (this.bytes[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  /** A string of printable ASCII without escapes: its bounds in strStart / strEnd. */
  private str(): boolean {
    if (!this.punct(0x22)) return false;
    const b = this.bytes;
    const start = this.pos;
    for (let i = start; i < b.length; i++) {
      const c = b[i];
      if (c === 0x22) {
        this.strStart = start;
        this.strEnd = i;
        this.pos = i + 1;
        return true;
      }
      if (c < 0x20 || c > 0x7e || c === 0x5c) return false;
    }
    return false;
  }

  /** Printable ASCII without backslashes (what str() accepts) in bytes [start, end). */
  private plainAscii(start: number, end: number): boolean {
    const b = this.bytes;
    for (let i = start; i < end; i++) {
      const c = b[i];
      if (c < 0x20 || c > 0x7e || c === 0x5c) return false;
    }
    return true;
  }

  /** A string whose bytes the caller validates: its bounds in strStart / strEnd (no escape can end it). */
  private rawStr(): boolean {
    if (!this.punct(0x22)) return false;
    const end = this.bytes.indexOf(0x22, this.pos);
    if (end < 0) return false;
    this.strStart = this.pos;
    this.strEnd = end;
    this.pos = end + 1;
    return true;
  }

  private bool(): boolean | undefined {
    this.space();
    const b = this.bytes;
    const p = this.pos;
    if (b[p] === 0x74 && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) {
      this.pos += 4;
      return true;
    }
    if (b[p] === 0x66 && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65) {
      this.pos += 5;
      return false;
    }
    return undefined;
  }

  /** Index of the last string read in `keys` (exact bytes), or -1. */
  private keyOf(keys: readonly Buffer[]): number {
    const b = this.bytes;
    const length = this.strEnd - this.strStart;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (key.length !== length) continue;
      let i = 0;
      while (i < length && key[i] === b[this.strStart + i]) i++;
      if (i === length) return k;
    }
    return -1;
  }

  /** Canonical padded base64 in bytes [start, end) into the scratch buffer: bytes written, or -1. */
  private base64(start: number, end: number): number {
    const b = this.bytes;
    const n = end - start;
    if (n === 0 || n % 4 !== 0) return -1;
    const padding = b[end - 1] === PAD ? (b[end - 2] === PAD ? 2 : 1) : 0;
    const out = (n / 4) * 3 - padding;
    if (out > this.scratch.length) this.scratch = Buffer.alloc(Math.max(out, this.scratch.length * 2));
    const scratch = this.scratch;
    const V = BASE64_VALUES;
    // Whole quads without per-quad branches: a -1 (not in the alphabet) anywhere makes v negative.
    const whole = padding > 0 ? end - 4 : end;
    let o = 0;
    for (let i = start; i < whole; i += 4) {
      const v = (V[b[i]] << 18) | (V[b[i + 1]] << 12) | (V[b[i + 2]] << 6) | V[b[i + 3]];
      if (v < 0) return -1;
      scratch[o] = v >>> 16;
      scratch[o + 1] = v >>> 8;
      scratch[o + 2] = v;
      o += 3;
    }
    if (padding > 0) {
      const i = end - 4;
      const v = (V[b[i]] << 18) | (V[b[i + 1]] << 12) | (padding === 2 ? 0 : V[b[i + 2]] << 6);
      if (v < 0) return -1;
      scratch[o++] = v >>> 16;
      if (padding === 1) scratch[o] = v >>> 8;
    }
    return out;
  }

  private dtmf(p: Json): DecodeResult {
    const digit = str(field(p, 'data'))?.toUpperCase();
    if (!digit || !DTMF.test(digit))
      return fail('invalid_field', 'DtmfData.data must be one of 0-9 * # A-D', 'DtmfData');
    return { ok: true, frame: { kind: 'DtmfData', digit } };
  }

  private transcription(p: Json): DecodeResult {
    const text = field(p, 'text');
    if (typeof text !== 'string')
      return fail('invalid_field', 'TranscriptionData.text must be a string', 'TranscriptionData');
    const status = str(field(p, 'resultStatus'))?.toLowerCase();
    const offset = num(field(p, 'offset'));
    const duration = num(field(p, 'duration'));
    return {
      ok: true,
      frame: {
        kind: 'TranscriptionData',
        text,
        final: status === 'final',
        confidence: num(field(p, 'confidence')),
        offsetMs: offset === undefined ? undefined : offset / TICKS_PER_MS,
        durationMs: duration === undefined ? undefined : duration / TICKS_PER_MS,
        participantRawId: str(field(p, 'participantRawID')) ?? str(field(p, 'participantRawId')),
      },
    };
  }
}

const AUDIO_PREFIX = '{"kind":"AudioData","audioData":{"data":"';
const AUDIO_SUFFIX = '"}}';

/** One outbound AudioData message with `bytes` of PCM16 (little-endian) from `pcm`. */
export function encodeAudioData(pcm: Buffer, byteOffset = 0, byteLength = pcm.length - byteOffset): string {
  return AUDIO_PREFIX + pcm.toString('base64', byteOffset, byteOffset + byteLength) + AUDIO_SUFFIX;
}

const AUDIO_PREFIX_BYTES = Buffer.from(AUDIO_PREFIX, 'latin1');
const AUDIO_SUFFIX_BYTES = Buffer.from(AUDIO_SUFFIX, 'latin1');
const BASE64 = Buffer.from(BASE64_ALPHABET, 'latin1');

/**
 * The same message as encodeAudioData, as the UTF-8 bytes of a text frame in a new Buffer (small ones
 * come from Node's buffer pool). The playout sends 50 of these a second per call: building the bytes
 * directly skips the base64 string, the concatenated string and the socket's own string → bytes copy.
 * The Buffer is handed over: the caller must not reuse it (the socket may still be writing it).
 */
export function encodeAudioDataBytes(
  pcm: Buffer,
  byteOffset = 0,
  byteLength = pcm.length - byteOffset,
): Buffer {
  return writeAudioData(Buffer.allocUnsafe(audioDataBytes(byteLength)), pcm, byteOffset, byteLength);
}

/** Size of the AudioData message for `byteLength` bytes of PCM. */
const audioDataBytes = (byteLength: number) =>
  AUDIO_PREFIX_BYTES.length + Math.ceil(byteLength / 3) * 4 + AUDIO_SUFFIX_BYTES.length;

/** Writes the message into `out` (exactly audioDataBytes(byteLength) long). */
function writeAudioData(out: Buffer, pcm: Buffer, byteOffset: number, byteLength: number): Buffer {
  const start = AUDIO_PREFIX_BYTES.length;
  AUDIO_PREFIX_BYTES.copy(out, 0);
  let o = start;
  const end = byteOffset + byteLength;
  let i = byteOffset;
  for (; i + 2 < end; i += 3) {
    const n = (pcm[i] << 16) | (pcm[i + 1] << 8) | pcm[i + 2];
    out[o++] = BASE64[n >>> 18];
    out[o++] = BASE64[(n >>> 12) & 63];
    out[o++] = BASE64[(n >>> 6) & 63];
    out[o++] = BASE64[n & 63];
  }
  if (i < end) {
    const n = (pcm[i] << 16) | (i + 1 < end ? pcm[i + 1] << 8 : 0);
    out[o++] = BASE64[n >>> 18];
    out[o++] = BASE64[(n >>> 12) & 63];
    out[o++] = i + 1 < end ? BASE64[(n >>> 6) & 63] : PAD;
    out[o++] = PAD;
  }
  AUDIO_SUFFIX_BYTES.copy(out, o);
  return out;
}

/** An encoded message, owned by the socket until `release` (then its buffer is reused). */
export interface AudioDataMessage {
  bytes: Buffer;
  release: () => void;
}

/**
 * A call's outbound AudioData messages in buffers that are reused once the socket has written them:
 * a playing call sends 50 a second, and fresh buffers for each were megabytes a second of short-lived
 * ArrayBuffers across calls (V8 counts them against the old generation, so they bring major GCs
 * sooner). A message that is never released is simply not reused.
 */
export class AudioDataWriter {
  private readonly free: AudioDataMessage[] = [];

  /** Messages are for frames of `frameBytes`; other sizes get a buffer of their own. */
  constructor(private readonly frameBytes: number) {}

  encode(pcm: Buffer, byteOffset: number, byteLength: number): AudioDataMessage {
    if (byteLength !== this.frameBytes)
      return { bytes: encodeAudioDataBytes(pcm, byteOffset, byteLength), release: () => undefined };
    const message = this.free.pop() ?? this.message();
    writeAudioData(message.bytes, pcm, byteOffset, byteLength);
    return message;
  }

  private message(): AudioDataMessage {
    // Its own ArrayBuffer (not a slice of Node's shared pool), kept for the call's life.
    const message: AudioDataMessage = {
      bytes: Buffer.allocUnsafeSlow(audioDataBytes(this.frameBytes)),
      release: () => {
        // Idempotent, and the free list stays small (a burst in flight is not kept forever).
        if (!this.free.includes(message) && this.free.length < MAX_FREE_MESSAGES) this.free.push(message);
      },
    };
    return message;
  }
}

/** Messages one call keeps for reuse: the playout's lead (6 frames) plus slack. */
const MAX_FREE_MESSAGES = 16;

/** Barge-in: ACS drops the audio it has queued but not yet played. */
export const STOP_AUDIO = '{"kind":"StopAudio","stopAudio":{}}';
