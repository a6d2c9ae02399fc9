import { int16View, levelDbfs } from '../../../src/audio/pcm';
import type { ResourcePool } from '../../../src/common/pool/resource-pool';
import { NativeFlite } from '../../../src/speech/local/flite/flite-native';
import {
  createFlitePool,
  fliteProcessLock,
  FliteTextToSpeech,
  type FliteEngine,
} from '../../../src/speech/local/flite/flite-text-to-speech';
import { MAIN_THREAD_OWNER } from '../../../src/speech/local/flite/native-lock';
import type { SynthesisRequest } from '../../../src/speech/ports';

async function collect(tts: FliteTextToSpeech, request: Partial<SynthesisRequest> & { text: string }) {
  const chunks: Buffer[] = [];
  for await (const c of tts.synthesize({ voice: { name: 'slt' }, sampleRate: 16000, ...request }))
    chunks.push(c);
  return chunks;
}

const seconds = (chunks: Buffer[], rate = 16000) => Buffer.concat(chunks).length / 2 / rate;

describe('flite TTS (libflite in worker threads)', () => {
  let pool: ResourcePool<FliteEngine>;
  let tts: FliteTextToSpeech;
  beforeAll(async () => {
    pool = createFlitePool({ max: 1, minIdle: 1 });
    await pool.start();
    tts = new FliteTextToSpeech(pool);
  }, 30_000);
  afterAll(() => pool.close());

  it('yields the first clause on its own, then each sentence, as audible PCM at 16 and 24 kHz', async () => {
    const text = 'Hello, thanks for calling Contoso Insurance. How can I help you today?';
    for (const sampleRate of [16000, 24000] as const) {
      const chunks = await collect(tts, { text, sampleRate });
      // "Hello," / "thanks for calling Contoso Insurance." / "How can I help you today?"
      expect(chunks).toHaveLength(3);
      expect(seconds(chunks, sampleRate)).toBeGreaterThan(2);
      expect(seconds(chunks, sampleRate)).toBeLessThan(8);
      expect(levelDbfs(int16View(Buffer.concat(chunks)))).toBeGreaterThan(-40);
    }
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1, destroyed: 0 });
  });

  it('produces exactly what libflite produces when called directly, every time', async () => {
    const direct = fliteProcessLock().run(MAIN_THREAD_OWNER, () =>
      new NativeFlite().synthesize('Please confirm your ZIP code.', 'rms'),
    ).pcm;
    for (let i = 0; i < 2; i++) {
      const chunks = await collect(tts, { text: 'Please confirm your ZIP code.', voice: { name: 'rms' } });
      expect(Buffer.concat(chunks).equals(Buffer.from(direct.buffer))).toBe(true);
    }
  });

  it('applies the voice rate through the duration stretch, and does not carry it to the next reply', async () => {
    const text = 'Please confirm your ZIP code.';
    const normal = seconds(await collect(tts, { text }));
    const slow = seconds(await collect(tts, { text, voice: { name: 'slt', rate: 0.5 } }));
    const fast = seconds(await collect(tts, { text, voice: { name: 'slt', rate: 1.25 } }));
    expect(slow / normal).toBeGreaterThan(1.6);
    expect(fast / normal).toBeLessThan(0.9);
    expect(seconds(await collect(tts, { text }))).toBe(normal);
  });

  it('speaks an unknown voice name with the default voice', async () => {
    const text = 'One moment please.';
    const unknown = await collect(tts, { text, voice: { name: 'en-US-JennyNeural' } });
    expect(Buffer.concat(unknown).equals(Buffer.concat(await collect(tts, { text })))).toBe(true);
  });

  it('rejects SSML with a clear error', async () => {
    await expect(collect(tts, { text: '<speak>Hi</speak>', ssml: true })).rejects.toMatchObject({
      code: 'NOT_AVAILABLE',
    });
  });

  it('stops at the next unit when aborted and returns the engine to the pool', async () => {
    const controller = new AbortController();
    const chunks: Buffer[] = [];
    for await (const c of tts.synthesize({
      text: 'One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten. Eleven. Twelve.',
      voice: { name: 'slt' },
      sampleRate: 16000,
      signal: controller.signal,
    })) {
      chunks.push(c);
      controller.abort();
    }
    expect(chunks).toHaveLength(1);
    // The worker finishes at most the unit it is in, then answers the cancel.
    for (let i = 0; i < 50 && pool.stats().inUse > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1, destroyed: 0 });
    expect(seconds(await collect(tts, { text: 'Still working.' }))).toBeGreaterThan(0.5);
  });
});

describe('flite TTS with several workers', () => {
  it('serves concurrent replies on workers that share libflite without corrupting each other', async () => {
    const pool = createFlitePool({ max: 3, minIdle: 3 });
    await pool.start();
    try {
      const tts = new FliteTextToSpeech(pool);
      const texts = [
        'Your claim number is four five six seven.',
        'Can you tell me what my policy covers for water damage?',
        'I was in a car accident yesterday on Main Street.',
      ];
      const voices = ['slt', 'slt', 'rms'];
      // Alone first, then all at once: two replies in one voice at different rates write the same
      // singleton voice's features, which without the process-wide lock would swap their rates.
      const alone: number[] = [];
      for (const [i, text] of texts.entries())
        alone.push(seconds(await collect(tts, { text, voice: { name: voices[i], rate: 1 + i * 0.1 } })));
      for (let round = 0; round < 3; round++) {
        const together = await Promise.all(
          texts.map((text, i) => collect(tts, { text, voice: { name: voices[i], rate: 1 + i * 0.1 } })),
        );
        expect(together.map((c) => seconds(c))).toEqual(alone);
      }
      expect(pool.stats()).toMatchObject({ inUse: 0, destroyed: 0 });
    } finally {
      await pool.close();
    }
  }, 30_000);
});

describe('flite TTS faults', () => {
  it('fails to start with the package to install when libflite is missing', async () => {
    const pool = createFlitePool({ max: 1, minIdle: 1, library: 'libflite-missing.so.1' });
    try {
      await expect(pool.start()).rejects.toThrow(/libflite is not installed .*apt-get install flite/);
    } finally {
      await pool.close();
    }
  }, 30_000);

  it('terminates an engine that does not answer in time, reports the error and replaces it', async () => {
    // 1 ms is shorter than any unit takes, so the watchdog declares the engine hung.
    const pool = createFlitePool({ max: 1, minIdle: 1, unitTimeoutMs: 1 });
    await pool.start();
    try {
      const tts = new FliteTextToSpeech(pool);
      await expect(
        collect(tts, { text: 'This sentence takes flite more than a millisecond to say.' }),
      ).rejects.toMatchObject({ code: 'PROVIDER_ERROR', message: 'flite did not answer within 1 ms' });
      for (let i = 0; i < 100 && pool.stats().idle < 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1, destroyed: 1, created: 2 });
    } finally {
      await pool.close();
    }
  }, 30_000);
});
