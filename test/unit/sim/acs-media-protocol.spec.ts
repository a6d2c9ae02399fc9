import {
  AcsMediaDecoder,
  encodeAudioData as encodeOutbound,
  STOP_AUDIO,
} from '../../../src/media/codec/acs-media-codec';
import {
  base64ByteLength,
  encodeAudioData,
  encodeAudioMetadata,
  parseOutbound,
  PEEK_OTHER,
  PEEK_STOP_AUDIO,
  peekOutbound,
  preEncodeFrames,
  SILENT_AUDIO_DATA,
} from '../../../src/sim/acs-media-protocol';

const pcm = (bytes: number) => Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 7) % 256));

describe('ACS media protocol, simulator side', () => {
  const decoder = new AcsMediaDecoder();

  it('encodes AudioMetadata that the service decodes as the call format', () => {
    expect(decoder.decode(encodeAudioMetadata({ sampleRate: 24000 }))).toEqual({
      ok: true,
      frame: expect.objectContaining({
        kind: 'AudioMetadata',
        sampleRate: 24000,
        channels: 1,
        frameBytes: 960,
      }),
    });
  });

  it('encodes AudioData the service decodes to the same PCM, with timestamp and participant when given', () => {
    const audio = pcm(640);
    const result = decoder.decode(
      encodeAudioData(audio, 0, 640, { timestamp: '2026-01-01T00:00:00.000Z', participantRawId: '4:+1555' }),
    );
    if (!result.ok || result.frame.kind !== 'AudioData') throw new Error('not decoded as AudioData');
    expect(result.frame.pcm.subarray(0, result.frame.byteLength)).toEqual(audio);
    expect(result.frame).toMatchObject({
      silent: false,
      timestamp: '2026-01-01T00:00:00.000Z',
      participantRawId: '4:+1555',
    });
    expect(decoder.decode(SILENT_AUDIO_DATA)).toMatchObject({
      ok: true,
      frame: { kind: 'AudioData', silent: true },
    });
  });

  it('pre-encodes 20 ms frames, padding the last partial frame with silence', () => {
    const audio = pcm(640 * 2 + 100);
    const frames = preEncodeFrames(audio, 16000);
    expect(frames).toHaveLength(3);
    const last = decoder.decode(frames[2]);
    if (!last.ok || last.frame.kind !== 'AudioData') throw new Error('not decoded as AudioData');
    const bytes = Buffer.from(last.frame.pcm.subarray(0, last.frame.byteLength));
    expect(bytes.length).toBe(640);
    expect(bytes.subarray(0, 100)).toEqual(audio.subarray(1280));
    expect(bytes.subarray(100).every((b) => b === 0)).toBe(true);
  });

  it('parses the service’s AudioData and StopAudio, and the SDK / old-sample spellings', () => {
    const audio = pcm(640);
    expect(parseOutbound(encodeOutbound(audio))).toEqual({
      kind: 'AudioData',
      base64: audio.toString('base64'),
    });
    expect(parseOutbound(STOP_AUDIO)).toEqual({ kind: 'StopAudio' });
    expect(parseOutbound('{"kind":"audioData","audioData":{"data":"AAA=","timestamp":null}}')).toEqual({
      kind: 'AudioData',
      base64: 'AAA=',
    });
    expect(parseOutbound('{"Kind":"StopAudio","StopAudio":{}}')).toEqual({ kind: 'StopAudio' });
    expect(parseOutbound('{"kind":"stopAudio","stopAudio":{}}')).toEqual({ kind: 'StopAudio' });
  });

  it('reports what it cannot use instead of throwing', () => {
    expect(parseOutbound('{"kind":')).toEqual({ kind: 'invalid', reason: 'not valid JSON' });
    expect(parseOutbound('[]')).toEqual({ kind: 'invalid', reason: 'not a JSON object' });
    expect(parseOutbound('{"audioData":{}}')).toEqual({ kind: 'invalid', reason: 'no kind' });
    expect(parseOutbound('{"kind":"AudioData","audioData":{}}')).toEqual({
      kind: 'invalid',
      reason: 'AudioData without data',
    });
    expect(parseOutbound('{"kind":"Mark","mark":{}}')).toEqual({ kind: 'other', name: 'Mark' });
  });

  it('computes decoded sizes from base64 without decoding', () => {
    for (const n of [0, 1, 2, 3, 640, 641, 961]) expect(base64ByteLength(pcm(n).toString('base64'))).toBe(n);
  });

  it("reads the service's own AudioData and StopAudio shapes from the bytes as parseOutbound reads the text", () => {
    const shapes = [
      encodeOutbound(pcm(640), 0, 640),
      encodeOutbound(pcm(2), 0, 2),
      encodeOutbound(pcm(4), 0, 4),
      STOP_AUDIO,
      '{"kind":"AudioData","audioData":{"data":""}}',
    ];
    const others = [
      '{"kind":"audioData","audioData":{"data":"AAA="}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA","silent":false}}',
      '{"kind":"AudioData","audioData":{"data":"AA"AA"}}',
      '{"kind":"AudioData","audioData":{"data":"AAAA"}} ',
      '{"kind":"AudioData","audioData":{"data":"',
      '{"kind":"Stop',
      '{"kind":"DtmfData","dtmfData":{"data":"5"}}',
      '',
    ];
    for (const text of shapes) {
      const msg = parseOutbound(text);
      const peeked = peekOutbound(Buffer.from(text));
      expect([text, peeked]).toEqual([
        text,
        msg.kind === 'AudioData' ? base64ByteLength(msg.base64) : PEEK_STOP_AUDIO,
      ]);
    }
    for (const text of others) expect([text, peekOutbound(Buffer.from(text))]).toEqual([text, PEEK_OTHER]);
  });
});
