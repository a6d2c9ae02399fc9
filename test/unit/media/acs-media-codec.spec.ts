import { randomBytes } from 'node:crypto';
import {
  AcsMediaDecoder,
  AudioDataWriter,
  encodeAudioData,
  encodeAudioDataBytes,
  STOP_AUDIO,
  type DecodeResult,
} from '../../../src/media/codec/acs-media-codec';

const pcm = (bytes: number) => {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 2) b.writeInt16LE(((i * 37) % 2000) - 1000, i);
  return b;
};
const audio = (data: Buffer, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'AudioData',
    audioData: { timestamp: '2026-11-22T10:00:00Z', data: data.toString('base64'), silent: false, ...extra },
  });

/** A seeded generator of integers in [0, n). */
const seeded = (seed: number) => (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

/** `frame` with up to `maxEdits` + 1 random deletions, insertions or replacements from `alphabet`. */
function mutate(frame: string, rand: (n: number) => number, alphabet: string, maxEdits: number): string {
  const chars = [...frame];
  for (let m = 0; m <= rand(maxEdits); m++) {
    const at = rand(chars.length);
    const op = rand(3);
    if (op === 0) chars.splice(at, 1);
    else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)]);
    else chars[at] = alphabet[rand(alphabet.length)];
  }
  return chars.join('');
}

describe('ACS media codec', () => {
  it('decodes AudioMetadata with the frame size and sample rate', () => {
    const r = new AcsMediaDecoder().decode(
      JSON.stringify({
        kind: 'AudioMetadata',
        audioMetadata: { subscriptionId: 's', encoding: 'PCM', sampleRate: 24000, channels: 1, length: 960 },
      }),
    );
    expect(r).toEqual({
      ok: true,
      frame: {
        kind: 'AudioMetadata',
        sampleRate: 24000,
        channels: 1,
        encoding: 'PCM',
        frameBytes: 960,
        subscriptionId: 's',
      },
    });
  });

  it('derives a 20 ms frame size when AudioMetadata has no length', () => {
    const r = new AcsMediaDecoder().decode('{"kind":"AudioMetadata","audioMetadata":{"sampleRate":16000}}');
    expect(r).toMatchObject({ ok: true, frame: { frameBytes: 640, channels: 1, encoding: 'PCM' } });
  });

  it('decodes AudioData into the scratch buffer, byte for byte', () => {
    const decoder = new AcsMediaDecoder();
    const data = pcm(640);
    const r = decoder.decode(audio(data, { participantRawID: '4:+14255550100' }));
    if (!r.ok || r.frame.kind !== 'AudioData') throw new Error('not audio');
    expect(r.frame.byteLength).toBe(640);
    expect(r.frame.pcm.subarray(0, 640).equals(data)).toBe(true);
    expect(r.frame).toMatchObject({ silent: false, participantRawId: '4:+14255550100' });
    // The next frame reuses the same buffer (no per-frame allocation).
    const r2 = decoder.decode(audio(pcm(640)));
    expect(r2.ok && r2.frame.kind === 'AudioData' && r2.frame.pcm).toBe(r.frame.pcm);
  });

  it('keeps silent frames (no data) as silence of unknown content, never as an error', () => {
    const r = new AcsMediaDecoder().decode(
      '{"kind":"AudioData","audioData":{"silent":true,"timestamp":"t"}}',
    );
    expect(r).toMatchObject({ ok: true, frame: { kind: 'AudioData', silent: true, byteLength: 0 } });
  });

  it('matches kinds and keys case-insensitively (PascalCase, lower-case SDK values)', () => {
    const d = new AcsMediaDecoder();
    expect(d.decode('{"Kind":"DtmfData","DtmfData":{"Data":"5"}}')).toEqual({
      ok: true,
      frame: { kind: 'DtmfData', digit: '5' },
    });
    expect(
      d.decode(`{"kind":"audioData","audioData":{"data":"${pcm(4).toString('base64')}"}}`),
    ).toMatchObject({
      ok: true,
      frame: { kind: 'AudioData', byteLength: 4 },
    });
    expect(d.decode('{"KIND":"AUDIOMETADATA","AudioMetadata":{"SampleRate":16000}}')).toMatchObject({
      ok: true,
    });
  });

  it('decodes TranscriptionData with ticks converted to ms', () => {
    const r = new AcsMediaDecoder().decode(
      JSON.stringify({
        kind: 'TranscriptionData',
        transcriptionData: {
          text: 'hello',
          format: 'display',
          confidence: 0.9,
          offset: 12_340_000,
          duration: 5_000_000,
          resultStatus: 'Final',
        },
      }),
    );
    expect(r).toEqual({
      ok: true,
      frame: {
        kind: 'TranscriptionData',
        text: 'hello',
        final: true,
        confidence: 0.9,
        offsetMs: 1234,
        durationMs: 500,
        participantRawId: undefined,
      },
    });
  });

  it.each([
    ['binary', Buffer.from([1, 2, 3]), true, 'binary_frame'],
    ['not JSON', '{"kind":', false, 'malformed_json'],
    ['an array', '[1,2]', false, 'not_an_object'],
    ['no kind', '{"audioData":{}}', false, 'missing_kind'],
    ['an unknown kind', '{"kind":"Video","video":{}}', false, 'unknown_kind'],
    ['no payload', '{"kind":"AudioData"}', false, 'missing_payload'],
    ['bad base64', '{"kind":"AudioData","audioData":{"data":"@@@@"}}', false, 'invalid_field'],
    [
      'odd PCM bytes',
      `{"kind":"AudioData","audioData":{"data":"${Buffer.alloc(3).toString('base64')}"}}`,
      false,
      'invalid_field',
    ],
    ['a bad DTMF digit', '{"kind":"DtmfData","dtmfData":{"data":"x"}}', false, 'invalid_field'],
    [
      'a bad sample rate',
      '{"kind":"AudioMetadata","audioMetadata":{"sampleRate":11025}}',
      false,
      'invalid_field',
    ],
    [
      'stereo',
      '{"kind":"AudioMetadata","audioMetadata":{"sampleRate":16000,"channels":2}}',
      false,
      'invalid_field',
    ],
  ] as const)('classifies %s as %s', (_name, raw, binary, code) => {
    const r = new AcsMediaDecoder().decode(raw, binary);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.reason.length).toBeGreaterThan(5);
    }
  });

  it('refuses frames over the size limit without parsing them', () => {
    const r = new AcsMediaDecoder({ maxFrameChars: 1000 }).decode(audio(pcm(2000)));
    expect(r).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });

  it('never throws and classifies every random or mutated frame (fuzz)', () => {
    const decoder = new AcsMediaDecoder();
    const seeds = [
      audio(pcm(640)),
      '{"kind":"AudioMetadata","audioMetadata":{"sampleRate":16000,"channels":1,"length":640}}',
      '{"kind":"DtmfData","dtmfData":{"data":"#"}}',
      '{"kind":"TranscriptionData","transcriptionData":{"text":"hi","resultStatus":"Intermediate"}}',
    ];
    const rand = seeded(42);
    const alphabet = '{}[]":,0123456789abcdefAudioDatakindsilenttruefalsenull=+/ \\';
    for (let i = 0; i < 5000; i++) {
      const frame =
        i % 5 === 0
          ? randomBytes(rand(200)).toString('latin1')
          : mutate(seeds[rand(seeds.length)], rand, alphabet, 4);
      let result: DecodeResult | undefined;
      expect(() => {
        result = decoder.decode(frame, i % 97 === 0);
      }).not.toThrow();
      expect(result!.ok ? typeof result!.frame.kind : typeof result!.error.code).toBe('string');
    }
  });

  it('encodes outbound AudioData and StopAudio with the capitalised kinds ACS documents', () => {
    const data = pcm(640);
    const encoded = JSON.parse(encodeAudioData(data)) as { kind: string; audioData: { data: string } };
    expect(encoded.kind).toBe('AudioData');
    expect(Buffer.from(encoded.audioData.data, 'base64').equals(data)).toBe(true);
    const part = JSON.parse(encodeAudioData(data, 320, 320)) as { audioData: { data: string } };
    expect(Buffer.from(part.audioData.data, 'base64').equals(data.subarray(320))).toBe(true);
    expect(JSON.parse(STOP_AUDIO)).toEqual({ kind: 'StopAudio', stopAudio: {} });
  });

  it('encodes outbound AudioData as bytes identical to the string form, in a new buffer each time', () => {
    const data = pcm(960);
    for (const [offset, length] of [
      [0, 640],
      [320, 640],
      [0, 960],
      [2, 0],
      [1, 1],
      [3, 2],
      [5, 4],
      [7, 5],
    ]) {
      const bytes = encodeAudioDataBytes(data, offset, length);
      expect(bytes.toString('utf8')).toBe(encodeAudioData(data, offset, length));
    }
    expect(encodeAudioDataBytes(data).toString()).toBe(encodeAudioData(data));
    // Handed to the socket, which may still be writing it: the next message never reuses it.
    const first = encodeAudioDataBytes(data, 0, 640);
    const copy = Buffer.from(first);
    encodeAudioDataBytes(pcm(640).fill(7), 0, 640);
    expect(first.equals(copy)).toBe(true);
  });

  /** What a decode result says, with the audio bytes in place of the scratch buffer. */
  const outcome = (r: DecodeResult) => {
    if (!r.ok || r.frame.kind !== 'AudioData') return r;
    const { pcm: scratch, ...rest } = r.frame;
    return { ...rest, audio: Buffer.from(scratch.subarray(0, r.frame.byteLength)).toString('hex') };
  };

  it('decodes AudioData frame bytes (the socket fast path) exactly as the same text', () => {
    const data = pcm(640);
    const b64 = data.toString('base64');
    const frames = [
      audio(data),
      audio(data, { participantRawID: '4:+14255550100' }),
      audio(pcm(6), { timestamp: '', participantRawID: '' }),
      `{"kind":"AudioData","audioData":{"data":"${b64}","silent":false}}`,
      ` { "kind" : "AudioData" ,\n\t"audioData":{ "silent" : false , "data" : "${b64}" } } \r\n`,
      '{"audioData":{"silent":true},"kind":"AudioData"}',
      '{"kind":"AudioData","audioData":{"silent":true,"data":"not base64!"}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA"}}',
      '{"kind":"AudioData","audioData":{"data":"AAE="}}',
      '{"kind":"AudioData","audioData":{"data":"AAB="}}',
      // Not the plain shape: the general path decides, the same way for text and bytes.
      '{"kind":"AudioData","audioData":{"data":"AA=="}}',
      '{"kind":"AudioData","audioData":{"data":"AAA"}}',
      '{"kind":"AudioData","audioData":{"data":"AA-_"}}',
      '{"kind":"AudioData","audioData":{"data":""}}',
      '{"kind":"AudioData","audioData":{"silent":false}}',
      '{"kind":"AudioData","audioData":{}}',
      '{"kind":"AudioData"}',
      '{"kind":"audioData","audioData":{"data":"AAAA"}}',
      '{"Kind":"AudioData","AudioData":{"Data":"AAAA","participantRawId":"x"}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA","data":"AQEB"}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA","timestamp":"t\\u00e9"}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA","timestamp":"té"}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA","silent":null}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA"}} x',
      '{"kind":"AudioData","audioData":{"data":"AAAA"},}',
      '\ufeff{"kind":"AudioData","audioData":{"data":"AAAA"}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA","extra":1}}',
      // An escaped quote inside the payload: not the end of the string (invalid JSON here).
      '{"kind":"AudioData","audioData":{"data":"AA\\","silent":true}}',
      '{"kind":"AudioData","audioData":{"data":"AA\\"A","silent":true}}',
      '{"kind":"AudioData","audioData":{"data":"A\u0001A","silent":true}}',
      '{"kind":"AudioData","audioData":{"data":"Aé","silent":true}}',
    ];
    for (const frame of frames) {
      const fromText = outcome(new AcsMediaDecoder().decode(frame));
      expect([frame, outcome(new AcsMediaDecoder().decode(Buffer.from(frame)))]).toEqual([frame, fromText]);
    }
    // Too large is judged before either path.
    const small = new AcsMediaDecoder({ maxFrameChars: 100 });
    expect(small.decode(Buffer.from(audio(data)))).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });

  it('decodes mutated AudioData frame bytes exactly as the same text (fuzz)', () => {
    const seeds = [
      audio(pcm(640), { participantRawID: '4:+1425' }),
      audio(pcm(4)),
      '{"kind":"AudioData","audioData":{"silent":true}}',
    ];
    const rand = seeded(7);
    const alphabet = '{}":,= +/AaDdtrue\\é\n';
    const text = new AcsMediaDecoder();
    const bytes = new AcsMediaDecoder();
    for (let i = 0; i < 5000; i++) {
      const frame = mutate(seeds[rand(seeds.length)], rand, alphabet, 3);
      expect([frame, outcome(bytes.decode(Buffer.from(frame)))]).toEqual([
        frame,
        outcome(text.decode(frame)),
      ]);
    }
  });

  it('reuses an outbound message buffer only after the socket has released it', () => {
    const writer = new AudioDataWriter(640);
    const a = pcm(640);
    const b = Buffer.from(a).fill(3);
    const first = writer.encode(a, 0, 640);
    expect(first.bytes.toString()).toBe(encodeAudioData(a, 0, 640));
    // Still owned by the socket: the next message gets another buffer and the first is untouched.
    const second = writer.encode(b, 0, 640);
    expect(second.bytes).not.toBe(first.bytes);
    expect(first.bytes.toString()).toBe(encodeAudioData(a, 0, 640));
    expect(second.bytes.toString()).toBe(encodeAudioData(b, 0, 640));
    first.release();
    first.release(); // idempotent: never handed out twice at once
    const third = writer.encode(b, 0, 640);
    expect(third.bytes).toBe(first.bytes);
    expect(third.bytes.toString()).toBe(encodeAudioData(b, 0, 640));
    expect(writer.encode(a, 0, 640).bytes).not.toBe(first.bytes);
    // Another size (a short last frame) gets a buffer of its own.
    const odd = writer.encode(a, 0, 320);
    expect(odd.bytes.toString()).toBe(encodeAudioData(a, 0, 320));
  });
});
