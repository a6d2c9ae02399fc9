import { randomBytes } from 'node:crypto';
import {
  AcsMediaDecoder,
  encodeAudioData,
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
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '{}[]":,0123456789abcdefAudioDatakindsilenttruefalsenull=+/ \\';
    for (let i = 0; i < 5000; i++) {
      let frame: string;
      if (i % 5 === 0) frame = randomBytes(rand(200)).toString('latin1');
      else {
        const chars = [...seeds[rand(seeds.length)]];
        for (let m = 0; m <= rand(4); m++) {
          const at = rand(chars.length);
          const op = rand(3);
          if (op === 0) chars.splice(at, 1);
          else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)]);
          else chars[at] = alphabet[rand(alphabet.length)];
        }
        frame = chars.join('');
      }
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
});
