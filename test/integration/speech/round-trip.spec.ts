import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bufferView } from '../../../src/audio/pcm';
import type { ResourcePool } from '../../../src/common/pool/resource-pool';
import { createPocketsphinxPool, LocalSpeechToText } from '../../../src/speech/local/local-speech-to-text';
import type { PocketsphinxDecoder } from '../../../src/speech/local/pocketsphinx/pocketsphinx-decoder';
import { wordsToDigits } from '../../../src/speech/numbers';
import { transcribePcm } from '../../../src/speech/transcribe';
import { addNoise, speak } from '../../support/audio';
import { wordErrors } from '../../support/wer';

// The fixed sentence list lives in the repo; digit lines are "digits: <spoken> = <expected>".
const lines = readFileSync(join(__dirname, '..', '..', 'fixtures', 'round-trip-sentences.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const sentences = lines.filter((l) => !l.startsWith('digits:'));
const digitCases = lines
  .filter((l) => l.startsWith('digits:'))
  .map((l) => {
    const [spoken, expected] = l
      .slice('digits:'.length)
      .split('=')
      .map((s) => s.trim());
    return { spoken, expected };
  });

// flite's "rms" voice plays the caller: with pocketsphinx's US English model it gives 4.7 % WER clean
// and 10.1 % in white noise 30 dB below the speech (measured on this list, 149 words). The bounds below
// leave a margin over those figures.
const CALLER_VOICE = 'rms';

describe('speech round trip: local TTS (flite) → local STT (pocketsphinx)', () => {
  let pool: ResourcePool<PocketsphinxDecoder>;
  let stt: LocalSpeechToText;
  beforeAll(async () => {
    pool = createPocketsphinxPool({ max: 2, minIdle: 1 });
    await pool.start();
    stt = new LocalSpeechToText(pool);
  });
  afterAll(() => pool.close());

  async function wer(noiseSnrDb?: number) {
    let errors = 0;
    let words = 0;
    for (const sentence of sentences) {
      const clean = await speak(sentence, 16000, CALLER_VOICE);
      const audio = noiseSnrDb === undefined ? clean : addNoise(clean, noiseSnrDb);
      const { text } = await transcribePcm(stt, Buffer.from(bufferView(audio)), { sampleRate: 16000 });
      const e = wordErrors(sentence, text);
      errors += e.errors;
      words += e.words;
    }
    return errors / words;
  }

  it('uses a fixed list of at least 20 varied call-centre sentences plus digit strings', () => {
    expect(sentences.length).toBeGreaterThanOrEqual(20);
    expect(digitCases.length).toBeGreaterThanOrEqual(5);
  });

  it('keeps the word error rate at or under 10 % on clean speech', async () => {
    expect(await wer()).toBeLessThanOrEqual(0.1);
  }, 120_000);

  it('keeps the word error rate at or under 15 % with white noise 30 dB below the speech', async () => {
    expect(await wer(30)).toBeLessThanOrEqual(0.15);
  }, 120_000);

  it('gets every digit string exactly right with the digits grammar, clean and in 30 dB noise', async () => {
    for (const { spoken, expected } of digitCases) {
      const clean = await speak(spoken, 16000, CALLER_VOICE);
      for (const audio of [clean, addNoise(clean, 30)]) {
        const { text } = await transcribePcm(stt, Buffer.from(bufferView(audio)), {
          sampleRate: 16000,
          expected: 'digits',
        });
        expect([spoken, wordsToDigits(text)]).toEqual([spoken, expected]);
      }
    }
  }, 120_000);
});
