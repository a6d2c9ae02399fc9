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

/** The value of `key` in `o`, matching the key case-insensitively (exact match first: the common case). */
function field(o: Json, key: string): unknown {
  if (key in o) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

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

  constructor(private readonly options: DecoderOptions = { maxFrameChars: 256 * 1024 }) {
    this.scratch = Buffer.alloc(4096);
  }

  decode(raw: string | Buffer, isBinary = false): DecodeResult {
    if (isBinary) return fail('binary_frame', 'binary frames are not part of the ACS media protocol');
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

/** Barge-in: ACS drops the audio it has queued but not yet played. */
export const STOP_AUDIO = '{"kind":"StopAudio","stopAudio":{}}';
