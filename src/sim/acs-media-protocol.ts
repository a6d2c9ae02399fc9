/**
 * The ACS side of the media streaming protocol, for the simulator and load generators: what ACS sends
 * (AudioMetadata, AudioData) as wire text, and a cheap parser for what the service sends back
 * (AudioData, StopAudio). Messages are plain strings so that a generator with hundreds of calls can
 * pre-encode a caller's utterances once and send the same strings on every call.
 */

export interface AudioMetadataOptions {
  sampleRate: number;
  subscriptionId?: string;
}

/** The first message ACS sends on a media socket. */
export function encodeAudioMetadata({
  sampleRate,
  subscriptionId = 'voxline-sim',
}: AudioMetadataOptions): string {
  return JSON.stringify({
    kind: 'AudioMetadata',
    audioMetadata: {
      subscriptionId,
      encoding: 'PCM',
      sampleRate,
      channels: 1,
      length: (sampleRate / 50) * 2,
    },
  });
}

export interface AudioDataOptions {
  /** ISO-8601 capture time; omitted by default so pre-encoded frames stay reusable across calls. */
  timestamp?: string;
  participantRawId?: string;
}

const AUDIO_PREFIX = '{"kind":"AudioData","audioData":{';

/** One inbound AudioData message with `byteLength` bytes of PCM16 from `pcm` at `byteOffset`. */
export function encodeAudioData(
  pcm: Buffer,
  byteOffset = 0,
  byteLength = pcm.length - byteOffset,
  options: AudioDataOptions = {},
): string {
  let head = AUDIO_PREFIX;
  if (options.timestamp) head += `"timestamp":${JSON.stringify(options.timestamp)},`;
  if (options.participantRawId) head += `"participantRawID":${JSON.stringify(options.participantRawId)},`;
  return `${head}"data":"${pcm.toString('base64', byteOffset, byteOffset + byteLength)}","silent":false}}`;
}

/** An AudioData message flagged silent (what ACS sends while the caller's line is muted). */
export const SILENT_AUDIO_DATA = '{"kind":"AudioData","audioData":{"silent":true}}';

/**
 * Cuts PCM16 mono into 20 ms AudioData messages (the last partial frame padded with silence).
 * Encode once, send many times.
 */
export function preEncodeFrames(pcm: Buffer, sampleRate: number, options: AudioDataOptions = {}): string[] {
  const frameBytes = (sampleRate / 50) * 2;
  const out: string[] = [];
  for (let off = 0; off < pcm.length; off += frameBytes) {
    if (off + frameBytes <= pcm.length) {
      out.push(encodeAudioData(pcm, off, frameBytes, options));
    } else {
      const last = Buffer.alloc(frameBytes);
      pcm.copy(last, 0, off);
      out.push(encodeAudioData(last, 0, frameBytes, options));
    }
  }
  return out;
}

/** What the service sent: agent audio (still base64), a barge-in stop, or something the simulator ignores. */
export type OutboundMessage =
  | { kind: 'AudioData'; base64: string }
  | { kind: 'StopAudio' }
  | { kind: 'other'; name: string }
  | { kind: 'invalid'; reason: string };

const FAST_AUDIO = '{"kind":"AudioData","audioData":{"data":"';
const FAST_STOP = '{"kind":"StopAudio"';

/**
 * Parses one message from the service. The exact shapes voxline emits are recognised by prefix without a
 * JSON parse (the hot path: 50 messages a second per call); anything else is parsed properly, kinds and
 * keys case-insensitively (the JS SDK helpers emit `audioData`, old samples `Kind`).
 */
export function parseOutbound(raw: string): OutboundMessage {
  if (raw.startsWith(FAST_AUDIO)) {
    const end = raw.indexOf('"', FAST_AUDIO.length);
    if (end > 0 && raw.endsWith('}}') && end === raw.length - 3)
      return { kind: 'AudioData', base64: raw.slice(FAST_AUDIO.length, end) };
  }
  if (raw.startsWith(FAST_STOP)) return { kind: 'StopAudio' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { kind: 'invalid', reason: 'not valid JSON' };
  }
  if (!isObject(parsed)) return { kind: 'invalid', reason: 'not a JSON object' };
  const kind = field(parsed, 'kind');
  if (typeof kind !== 'string' || !kind) return { kind: 'invalid', reason: 'no kind' };
  switch (kind.toLowerCase()) {
    case 'audiodata': {
      const payload = field(parsed, 'audioData');
      const data = isObject(payload) ? field(payload, 'data') : undefined;
      if (typeof data !== 'string') return { kind: 'invalid', reason: 'AudioData without data' };
      return { kind: 'AudioData', base64: data };
    }
    case 'stopaudio':
      return { kind: 'StopAudio' };
    default:
      return { kind: 'other', name: kind.slice(0, 64) };
  }
}

const FAST_AUDIO_BYTES = Buffer.from(FAST_AUDIO, 'latin1');
const FAST_STOP_BYTES = Buffer.from(FAST_STOP, 'latin1');
/** peekOutbound: a StopAudio in the service's own shape. */
export const PEEK_STOP_AUDIO = -1;
/** peekOutbound: not one of the two fast shapes (use parseOutbound on the text). */
export const PEEK_OTHER = -2;

/**
 * parseOutbound's fast shapes read from the frame bytes, for a client that receives thousands of frames
 * a second (the load generator): the decoded audio byte count of an AudioData, PEEK_STOP_AUDIO, or
 * PEEK_OTHER. Allocates nothing; gives what parseOutbound gives for the same text.
 */
export function peekOutbound(raw: Buffer): number {
  const head = FAST_AUDIO_BYTES.length;
  const n = raw.length;
  if (n >= head + 3 && raw.compare(FAST_AUDIO_BYTES, 0, head, 0, head) === 0) {
    const end = raw.indexOf(0x22, head);
    if (end === n - 3 && raw[n - 2] === 0x7d && raw[n - 1] === 0x7d) {
      const chars = end - head;
      if (chars === 0) return 0;
      const padding = raw[end - 1] === 0x3d ? (raw[end - 2] === 0x3d ? 2 : 1) : 0;
      return Math.floor((chars * 3) / 4) - padding;
    }
  }
  const stop = FAST_STOP_BYTES.length;
  if (n >= stop && raw.compare(FAST_STOP_BYTES, 0, stop, 0, stop) === 0) return PEEK_STOP_AUDIO;
  return PEEK_OTHER;
}

/** Decoded size of a padded base64 string, without decoding it. */
export function base64ByteLength(base64: string): number {
  const n = base64.length;
  if (n === 0) return 0;
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((n * 3) / 4) - padding;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function field(o: Json, key: string): unknown {
  if (key in o) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}
