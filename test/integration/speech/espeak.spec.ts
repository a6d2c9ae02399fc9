import pino from 'pino';
import { int16View, levelDbfs } from '../../../src/audio/pcm';
import { loadConfig } from '../../../src/config';
import type { ResourcePool } from '../../../src/common/pool/resource-pool';
import {
  createEspeakPool,
  EspeakTextToSpeech,
  type EspeakEngine,
} from '../../../src/speech/local/espeak/espeak-text-to-speech';
import { createPocketsphinxPool, LocalSpeechToText } from '../../../src/speech/local/local-speech-to-text';
import { wordsToDigits } from '../../../src/speech/numbers';
import { startSpeechEngines } from '../../../src/speech/speech.factory';
import { transcribePcm } from '../../../src/speech/transcribe';

async function collect(
  tts: EspeakTextToSpeech,
  text: string,
  sampleRate: 16000 | 24000,
  signal?: AbortSignal,
) {
  const chunks: Buffer[] = [];
  for await (const c of tts.synthesize({
    text,
    voice: { name: 'any', language: 'en-US' },
    sampleRate,
    signal,
  }))
    chunks.push(c);
  return chunks;
}

describe('espeak-ng fallback TTS (WASM in a worker thread)', () => {
  let pool: ResourcePool<EspeakEngine>;
  let tts: EspeakTextToSpeech;
  beforeAll(async () => {
    pool = createEspeakPool({ max: 1, minIdle: 1 });
    await pool.start();
    tts = new EspeakTextToSpeech(pool);
  }, 30_000);
  afterAll(() => pool.close());

  it('streams audible PCM sentence by sentence at 16 and 24 kHz', async () => {
    for (const rate of [16000, 24000] as const) {
      const chunks = await collect(tts, 'Thanks for calling. How can I help you today?', rate);
      expect(chunks.length).toBeGreaterThanOrEqual(2);
      const pcm = Buffer.concat(chunks);
      const seconds = pcm.length / 2 / rate;
      expect(seconds).toBeGreaterThan(1);
      expect(seconds).toBeLessThan(6);
      expect(levelDbfs(int16View(pcm))).toBeGreaterThan(-40);
    }
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1 });
  });

  it('is intelligible enough for the embedded recogniser to get digits right', async () => {
    const sttPool = createPocketsphinxPool({ max: 1, minIdle: 1 });
    await sttPool.start();
    try {
      const pcm = Buffer.concat(await collect(tts, 'one two three four', 16000));
      const { text } = await transcribePcm(new LocalSpeechToText(sttPool), pcm, {
        sampleRate: 16000,
        expected: 'digits',
      });
      expect(wordsToDigits(text)).toBe('1234');
    } finally {
      await sttPool.close();
    }
  }, 30_000);

  it('stops at the next sentence when aborted and returns the engine to the pool', async () => {
    const controller = new AbortController();
    const chunks: Buffer[] = [];
    for await (const c of tts.synthesize({
      text: 'One. Two. Three. Four. Five. Six. Seven. Eight.',
      voice: { name: 'any' },
      sampleRate: 16000,
      signal: controller.signal,
    })) {
      chunks.push(c);
      controller.abort();
    }
    expect(chunks).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1, destroyed: 0 });
    expect(Buffer.concat(await collect(tts, 'Still working.', 16000)).length).toBeGreaterThan(0);
  });

  it('is what the service uses when flite is not installed, and says which package is missing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const engines = await startSpeechEngines(loadConfig({}, { envFile: false }), logger, ['tts'], {
      fliteLibrary: 'libflite-missing.so.1',
    });
    try {
      expect(engines.tts).toBeInstanceOf(EspeakTextToSpeech);
      expect(engines.failures).toEqual({});
      expect(engines.pools.map((p) => p.name)).toEqual(['pocketsphinx', 'espeak-ng']);
      expect(lines.join('')).toContain('flite is not installed (apt-get install flite)');
    } finally {
      await engines.close();
    }
  }, 30_000);
});
