import pino from 'pino';
import { AzureSpeechToText } from '../../../src/speech/azure/azure-speech-to-text';
import { AzureTextToSpeech } from '../../../src/speech/azure/azure-text-to-speech';
import type { SttEvent } from '../../../src/speech/ports';
import { UspFake } from '../../fakes/usp-server';
import { until } from '../../support/wait';

/**
 * The USP fake's load behaviours, which the sdk benchmark drives the real Speech SDK with: recognition
 * of any number of utterances per connection found by energy, and synthesis sized by the text.
 */
const logger = pino({ enabled: false });
let fake: UspFake;

beforeAll(async () => {
  fake = await new UspFake().start();
  fake.record = false;
});
afterAll(() => fake.stop());

/** 20 ms frames: a tone while `loud`, digital silence otherwise. */
function frame(loud: boolean): Buffer {
  const buf = Buffer.alloc(640);
  if (loud) for (let i = 0; i < 320; i++) buf.writeInt16LE(Math.round(4000 * Math.sin(i / 3)), i * 2);
  return buf;
}

describe('USP fake load behaviours with the real Speech SDK', () => {
  it('recognises each of several utterances on one connection: partials while speaking, one final after each', async () => {
    fake.stt = {
      kind: 'energy',
      text: 'I would like to report a claim',
      endSilenceMs: 200,
      partialEveryMs: 200,
    };
    const session = await new AzureSpeechToText({ key: 'k', endpoint: fake.url, logger }).open({
      sampleRate: 16000,
    });
    const events: SttEvent[] = [];
    session.onEvent((e) => events.push(e));
    // Three utterances of 600 ms with 600 ms pauses, fed 4× faster than real time.
    for (let u = 0; u < 3; u++) {
      for (let f = 0; f < 60; f++) {
        session.write(frame(f < 30));
        if (f % 4 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    }
    await until(() => events.filter((e) => e.type === 'final').length === 3, 10_000);
    await session.close();
    const finals = events.filter((e) => e.type === 'final');
    expect(finals.map((e) => (e as { text: string }).text)).toEqual(
      Array(3).fill('I would like to report a claim'),
    );
    expect(events.filter((e) => e.type === 'partial').length).toBeGreaterThanOrEqual(3);
    expect(fake.openConnections).toBe(0);
  });

  it('synthesizes silence as long as the text at msPerChar, in chunkMs chunks', async () => {
    fake.tts = { kind: 'synth', firstChunkMs: 30, msPerChar: 50, chunkMs: 200, speed: 10 };
    const tts = new AzureTextToSpeech({ key: 'k', endpoint: fake.url, logger });
    const text = 'Thanks, I have noted that.'; // 26 characters → 1.3 s
    const chunks: number[] = [];
    for await (const chunk of tts.synthesize({
      text,
      voice: { name: 'en-US-JennyNeural' },
      sampleRate: 16000,
    })) {
      chunks.push(chunk.length);
    }
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(26 * 50 * 16 * 2);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(1300 / 200));
  });
});
