import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { isDomainError, type DomainError } from '../../../src/common/errors';
import { loadConfig } from '../../../src/config';
import { AzureSpeechToText } from '../../../src/speech/azure/azure-speech-to-text';
import {
  AzureTextToSpeech,
  type AzureTextToSpeechOptions,
} from '../../../src/speech/azure/azure-text-to-speech';
import { IGNORE_AUDIO } from '../../../src/speech/azure/azure-synthesizer-pool';
import { startSpeechEngines } from '../../../src/speech/speech.factory';
import type { SttEvent, SttSession } from '../../../src/speech/ports';
import { Telemetry } from '../../../src/telemetry/telemetry';
import { msToTicks, UspFake, type UspConnection } from '../../fakes/usp-server';
import { until } from '../../support/wait';

// '+' and '/' make the URL-encoded form differ from the raw key: both must stay out of logs.
const KEY = 'k3y+SECRET/0123456789abcdef';
const ENCODED_KEY = encodeURIComponent(KEY);

const spans = new InMemorySpanExporter();
let telemetry: Telemetry;
let fake: UspFake;
let logLines: string[];
const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });

beforeAll(async () => {
  telemetry = Telemetry.start(loadConfig({ OTEL_SERVICE_NAME: 'voxline-test' }, { envFile: false }), {
    spanExporter: spans,
    instanceId: 'i-1',
  });
  fake = await new UspFake().start();
});
afterAll(async () => {
  await fake.stop();
  await telemetry.shutdown();
});
beforeEach(() => {
  fake.connections.length = 0;
  fake.rejectStatus = undefined;
  fake.afterAudioBytes = 1;
  logLines = [];
  spans.reset();
});

const stt = (timeouts = {}) => new AzureSpeechToText({ key: KEY, endpoint: fake.url, logger, timeouts });
/** Engines made by a test; closed after it, so pooled synthesizers do not outlive the test. */
const engines: Array<{ close(): Promise<void> }> = [];
const tts = (timeouts = {}, options: Partial<AzureTextToSpeechOptions> = {}) => {
  const engine = new AzureTextToSpeech({ key: KEY, endpoint: fake.url, logger, timeouts, ...options });
  engines.push(engine);
  return engine;
};
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
const ttsConnections = () => fake.connections.filter((c) => c.url.startsWith('/tts/'));
const poolOf = (engine: AzureTextToSpeech, sampleRate: 16000 | 24000) =>
  engine.pools.find((p) => p.name === `azure-tts-${sampleRate / 1000}k`)!;

/** 20 ms PCM16 frames with a recognisable ramp. */
function frames(sampleRate: number, count: number): Buffer[] {
  const samples = sampleRate / 50;
  return Array.from({ length: count }, (_, f) => {
    const buf = Buffer.alloc(samples * 2);
    for (let i = 0; i < samples; i++) buf.writeInt16LE(((f * samples + i) % 2000) - 1000, i * 2);
    return buf;
  });
}

async function feed(session: SttSession, sampleRate: number, count: number) {
  for (const frame of frames(sampleRate, count)) {
    session.write(frame);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function record(session: SttSession): SttEvent[] {
  const events: SttEvent[] = [];
  session.onEvent((e) => events.push(e));
  return events;
}

const errorOf = (events: SttEvent[]) =>
  (events.find((e) => e.type === 'error') as { error: DomainError } | undefined)?.error;

async function drain(iterable: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

async function failure(work: Promise<unknown>): Promise<DomainError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isDomainError(err)) throw new Error(`expected a DomainError, got ${String(err)}`);
  return err;
}

const texts = (conn: UspConnection) => conn.messages.map((m) => `${m.path}\n${m.text ?? ''}`).join('\n');

describe('AzureSpeechToText (real Speech SDK against a USP fake)', () => {
  it('emits partials, then a final with text, confidence, word timings and offsets in ms', async () => {
    fake.stt = {
      kind: 'phrases',
      phrases: [
        {
          partials: ['my', 'my order'],
          text: 'My order is late.',
          offset: msToTicks(500),
          duration: msToTicks(1200),
          confidence: 0.87,
        },
      ],
    };
    const session = await stt().open({ sampleRate: 16000, language: 'en-GB' });
    const events = record(session);
    await feed(session, 16000, 25);
    await until(() => events.some((e) => e.type === 'final'));
    await session.close();

    expect(events.map((e) => e.type)).toEqual(['partial', 'partial', 'final']);
    expect(events.slice(0, 2)).toEqual([
      { type: 'partial', text: 'my' },
      { type: 'partial', text: 'my order' },
    ]);
    const final = events[2] as Extract<SttEvent, { type: 'final' }>;
    expect(final).toMatchObject({ text: 'My order is late.', startMs: 500, endMs: 1700, confidence: 0.87 });
    expect(final.words).toHaveLength(4);
    expect(final.words?.[0]).toMatchObject({ word: 'my', startMs: 500, endMs: 800 });
    expect(fake.connections[0].url).toMatch(/language=en-GB/);
  });

  it('announces 24 kHz in the RIFF header and sends phrases plus expected-input words as a phrase list', async () => {
    fake.stt = { kind: 'phrases', phrases: [{ text: 'Four two.', offset: 0, duration: msToTicks(600) }] };
    const session = await stt().open({ sampleRate: 24000, phrases: ['Voxline'], expected: 'digits' });
    const events = record(session);
    await feed(session, 24000, 10);
    await until(() => events.some((e) => e.type === 'final'));
    await session.close();

    const conn = fake.connections[0];
    const riff = conn.messages.find((m) => m.path === 'audio')!.binary!;
    expect(riff.subarray(0, 4).toString()).toBe('RIFF');
    expect(riff.readUInt32LE(24)).toBe(24000);
    const context = conn.messages.find((m) => m.path === 'speech.context')!.text!;
    expect(context).toContain('"Voxline"');
    expect(context).toContain('"zero"');
    expect(context).toContain('"nine"');
  });

  it('reports a service error status as an error event and closes the session', async () => {
    fake.stt = { kind: 'status', status: 'Error' };
    const session = await new AzureSpeechToText({
      key: KEY,
      endpoint: `${fake.url}/speech/recognition/conversation/cognitiveservices/v1`,
      logger,
    }).open({ sampleRate: 16000 });
    const events = record(session);
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'error'));
    expect(errorOf(events)).toMatchObject({ code: 'PROVIDER_ERROR', details: { errorCode: 'ServiceError' } });
    await session.close();
    await until(() => fake.connections.every((c) => c.closed));
  });

  it('reports the service closing the socket (1007) as an error event', async () => {
    fake.stt = { kind: 'close', closeCode: 1007, reason: 'unsupported audio format' };
    const session = await stt().open({ sampleRate: 16000 });
    const events = record(session);
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'error'));
    expect(errorOf(events)).toMatchObject({
      code: 'PROVIDER_ERROR',
      details: { errorCode: 'BadRequestParameters' },
    });
    await session.close();
  });

  it('surfaces PROVIDER_TIMEOUT when the service never answers the audio, and releases the connection', async () => {
    fake.stt = { kind: 'silent' };
    const session = await stt({ firstResponseMs: 400, closeMs: 300 }).open({ sampleRate: 16000 });
    const events = record(session);
    const started = Date.now();
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'error'), 3000);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(errorOf(events)?.code).toBe('PROVIDER_TIMEOUT');
    await session.close();
    await until(() => fake.connections.every((c) => c.closed));
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
  });

  it('surfaces PROVIDER_TIMEOUT when the service goes quiet in the middle of an utterance', async () => {
    fake.stt = { kind: 'phrases', phrases: [{ partials: ['hel'], offset: 0, duration: msToTicks(300) }] };
    const session = await stt({ resultMs: 400, closeMs: 300 }).open({ sampleRate: 16000 });
    const events = record(session);
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'error'), 3000);
    expect(events.map((e) => e.type)).toEqual(['partial', 'error']);
    expect(errorOf(events)?.code).toBe('PROVIDER_TIMEOUT');
  });

  it('surfaces PROVIDER_TIMEOUT when the caller spoke but the service has stayed silent since its turn.start', async () => {
    fake.stt = { kind: 'phrases', phrases: [] };
    const session = await stt({ resultMs: 300, closeMs: 300 }).open({ sampleRate: 16000 });
    const events = record(session);
    await feed(session, 16000, 10);
    await new Promise((r) => setTimeout(r, 400));
    expect(events).toEqual([]);
    session.endUtterance();
    await until(() => events.some((e) => e.type === 'error'), 2000);
    expect(errorOf(events)?.code).toBe('PROVIDER_TIMEOUT');
  });

  it('does not trip the watchdog on endUtterance right after the service answered', async () => {
    fake.stt = { kind: 'phrases', phrases: [{ text: 'Yes.', offset: 0, duration: msToTicks(300) }] };
    const session = await stt({ resultMs: 300 }).open({ sampleRate: 16000, expected: 'yes_no' });
    const events = record(session);
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'final'));
    session.endUtterance();
    session.setExpectedInput('digits');
    await new Promise((r) => setTimeout(r, 500));
    await session.close();
    expect(events.map((e) => e.type)).toEqual(['final']);
  });

  it('closes within its budget when the service never ends the turn, and close() is idempotent', async () => {
    fake.stt = {
      kind: 'phrases',
      holdTurn: true,
      phrases: [{ text: 'Hi.', offset: 0, duration: msToTicks(300) }],
    };
    const session = await stt({ closeMs: 300 }).open({ sampleRate: 16000 });
    const events = record(session);
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'final'));
    const started = Date.now();
    const first = session.close();
    expect(session.close()).toBe(first);
    await first;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(1500);
    await until(() => fake.connections.every((c) => c.closed));
    expect(events.map((e) => e.type)).toEqual(['final']);
    session.write(frames(16000, 1)[0]); // ignored after close
  });

  it('closes the session when its abort signal fires', async () => {
    fake.stt = { kind: 'phrases', phrases: [] };
    const controller = new AbortController();
    const session = await stt().open({ sampleRate: 16000, signal: controller.signal });
    await feed(session, 16000, 5);
    controller.abort();
    await until(() => fake.connections.length === 1 && fake.connections[0].closed);
  });

  it('detects the language continuously among the candidates when given several', async () => {
    fake.stt = { kind: 'phrases', phrases: [{ text: 'Guten Tag.', offset: 0, duration: msToTicks(500) }] };
    const session = await stt().open({ sampleRate: 16000, candidateLanguages: ['en-US', 'de-DE'] });
    const events = record(session);
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'final'));
    await session.close();
    expect(events).toContainEqual(expect.objectContaining({ type: 'final', text: 'Guten Tag.' }));
    expect(fake.connections[0].url).toMatch(/[?&]lidEnabled=true/);
    const context = fake.connections[0].messages.find((m) => m.path === 'speech.context')!.text!;
    expect(JSON.parse(context)).toMatchObject({
      languageId: { languages: ['en-US', 'de-DE'], mode: 'DetectContinuous' },
    });
  });

  it('fails open() with PROVIDER_ERROR, not a hang, when the service refuses the key', async () => {
    fake.rejectStatus = 401;
    const err = await failure(stt({ connectMs: 3000 }).open({ sampleRate: 16000 }));
    expect(err.code).toBe('PROVIDER_ERROR');
    expect(err.details?.errorCode).toBe('ConnectionFailure');
  });

  it('rejects sample rates other than 16 and 24 kHz', async () => {
    await expect(stt().open({ sampleRate: 8000 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('AzureTextToSpeech (real Speech SDK against a USP fake)', () => {
  /** 24 kHz ramp split in 100 ms chunks. */
  const pcm = Buffer.alloc(5 * 4800);
  for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE((i * 7) % 30000, i * 2);
  const chunks = Array.from({ length: 5 }, (_, i) => pcm.subarray(i * 4800, (i + 1) * 4800));
  const voice = { name: 'en-US-JennyNeural', style: 'cheerful', rate: 1.1 };

  it('streams chunks as they arrive, in order, concatenating to the service PCM', async () => {
    fake.tts = { kind: 'audio', chunks, chunkDelayMs: 60 };
    const arrivals: number[] = [];
    const received: Buffer[] = [];
    const engine = tts();
    for await (const chunk of engine.synthesize({ text: 'Tom & "Jerry" <3', voice, sampleRate: 24000 })) {
      arrivals.push(Date.now());
      received.push(chunk);
    }
    expect(Buffer.concat(received).equals(pcm)).toBe(true);
    // Streamed, not buffered until the end.
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(150);

    const sent = texts(fake.connections[0]);
    expect(sent).toContain('"outputFormat":"raw-24khz-16bit-mono-pcm"');
    expect(sent).toContain("<voice name='en-US-JennyNeural'>");
    expect(sent).toContain("<mstts:express-as style='cheerful'><prosody rate='+10%'>");
    expect(sent).toContain('Tom &amp; &quot;Jerry&quot; &lt;3');
    expect(sent).toContain("xml:lang='en-US'");
    // The completed synthesis gave its connection back to the pool; closing the engine closes it.
    expect(fake.connections[0].closed).toBe(false);
    await engine.close();
    await until(() => fake.connections.every((c) => c.closed));
  });

  it('passes SSML through untouched and asks for 16 kHz raw PCM', async () => {
    fake.tts = { kind: 'audio', chunks: [Buffer.alloc(640, 1)] };
    const ssml =
      "<speak version='1.0' xml:lang='de-DE'><voice name='de-DE-KatjaNeural'>Hallo</voice></speak>";
    const out = await drain(tts().synthesize({ text: ssml, ssml: true, voice, sampleRate: 16000 }));
    expect(Buffer.concat(out)).toEqual(Buffer.alloc(640, 1));
    const ssmlMsg = fake.connections[0].messages.find((m) => m.path === 'ssml');
    expect(ssmlMsg?.text).toBe(ssml);
    expect(texts(fake.connections[0])).toContain('"outputFormat":"raw-16khz-16bit-mono-pcm"');
  });

  it('ends the stream promptly when aborted mid-synthesis and closes the connection', async () => {
    fake.tts = { kind: 'audio', chunks: [...chunks, ...chunks], chunkDelayMs: 100 };
    const controller = new AbortController();
    let abortedAt = 0;
    const received: Buffer[] = [];
    for await (const chunk of tts().synthesize({
      text: 'long',
      voice,
      sampleRate: 24000,
      signal: controller.signal,
    })) {
      received.push(chunk);
      if (received.length === 1) {
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 30);
      }
    }
    // Chunks keep coming every 100 ms for a second: the stream ends without waiting for them.
    expect(Date.now() - abortedAt).toBeLessThan(300);
    expect(received.length).toBeLessThan(4);
    await until(() => fake.connections.every((c) => c.closed));
  });

  it('closes the connection when the consumer stops reading', async () => {
    fake.tts = { kind: 'audio', chunks, chunkDelayMs: 50 };
    for await (const _chunk of tts().synthesize({ text: 'hi', voice, sampleRate: 24000 })) break;
    await until(() => fake.connections.length === 1 && fake.connections[0].closed);
  });

  it('turns a canceled synthesis (socket closed 1007) into PROVIDER_ERROR', async () => {
    fake.tts = { kind: 'close', closeCode: 1007, reason: 'invalid SSML' };
    const err = await failure(drain(tts().synthesize({ text: 'hi', voice, sampleRate: 24000 })));
    expect(err).toMatchObject({ code: 'PROVIDER_ERROR', details: { errorCode: 'BadRequestParameters' } });
  });

  it('times out with PROVIDER_TIMEOUT when no audio comes, and closes the connection', async () => {
    fake.tts = { kind: 'silent' };
    const started = Date.now();
    const err = await failure(
      drain(tts({ firstChunkMs: 400 }).synthesize({ text: 'hi', voice, sampleRate: 24000 })),
    );
    expect(err.code).toBe('PROVIDER_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
    await until(() => fake.connections.every((c) => c.closed));
  });

  it('times out with PROVIDER_TIMEOUT when audio stalls after the first chunk', async () => {
    fake.tts = { kind: 'audio', chunks, stallAfter: 1 };
    const received: Buffer[] = [];
    const err = await failure(
      (async () => {
        for await (const c of tts({ idleMs: 400 }).synthesize({ text: 'hi', voice, sampleRate: 24000 })) {
          received.push(c);
        }
      })(),
    );
    expect(err.code).toBe('PROVIDER_TIMEOUT');
    expect(received).toHaveLength(1);
  });
});

describe('AzureTextToSpeech synthesizer pool (real Speech SDK against a USP fake)', () => {
  const pcm = Buffer.alloc(4 * 960);
  for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE((i * 13) % 20000, i * 2);
  const chunks = Array.from({ length: 4 }, (_, i) => pcm.subarray(i * 960, (i + 1) * 960));
  const voice = { name: 'en-US-JennyNeural' };

  it('pre-connects at start and reuses that one WebSocket for syntheses in a row', async () => {
    fake.tts = { kind: 'audio', chunks, chunkDelayMs: 5 };
    const engine = tts({}, { sampleRate: 24000, pool: { minIdle: 1 } });
    await engine.start();
    expect(ttsConnections()).toHaveLength(1);
    expect(ttsConnections()[0].messages.filter((m) => m.path === 'ssml')).toHaveLength(0);

    const first = await drain(engine.synthesize({ text: 'first one', voice, sampleRate: 24000 }));
    const second = await drain(engine.synthesize({ text: 'second one', voice, sampleRate: 24000 }));
    expect(Buffer.concat(first).equals(pcm)).toBe(true);
    expect(Buffer.concat(second).equals(pcm)).toBe(true);

    expect(ttsConnections()).toHaveLength(1);
    const [conn] = ttsConnections();
    expect(conn.closed).toBe(false);
    const ssml = conn.messages.filter((m) => m.path === 'ssml').map((m) => m.text);
    expect(ssml).toEqual([expect.stringContaining('first one'), expect.stringContaining('second one')]);
    expect(poolOf(engine, 24000).stats()).toMatchObject({ created: 1, destroyed: 0, inUse: 0, idle: 1 });
    // The other rate's pool is listed but connects nothing until asked for.
    expect(poolOf(engine, 16000).stats()).toMatchObject({ created: 0, idle: 0 });

    // The returned synthesizer no longer feeds the finished request.
    const lease = await poolOf(engine, 24000).acquire();
    expect(lease.resource.synthesizer.synthesizing).toBe(IGNORE_AUDIO);
    lease.release();
  });

  it('discards the synthesizer of an aborted synthesis; the next one runs on a fresh connection', async () => {
    fake.tts = { kind: 'audio', chunks: [...chunks, ...chunks, ...chunks], chunkDelayMs: 50 };
    const engine = tts({}, { sampleRate: 24000, pool: { minIdle: 1 } });
    await engine.start();
    const pool = poolOf(engine, 24000);
    const controller = new AbortController();
    const received: Buffer[] = [];
    for await (const chunk of engine.synthesize({
      text: 'long',
      voice,
      sampleRate: 24000,
      signal: controller.signal,
    })) {
      received.push(chunk);
      if (received.length === 1) controller.abort();
    }
    expect(received).toHaveLength(1);
    const [aborted] = ttsConnections();
    await until(() => aborted.closed, 2000);
    expect(pool.stats()).toMatchObject({ destroyed: 1, inUse: 0 });
    // minIdle 1: the pool connects a replacement on its own.
    await until(() => pool.stats().idle === 1, 2000);

    fake.tts = { kind: 'audio', chunks, chunkDelayMs: 5 };
    const out = await drain(engine.synthesize({ text: 'after barge-in', voice, sampleRate: 24000 }));
    expect(Buffer.concat(out).equals(pcm)).toBe(true);
    const conns = ttsConnections();
    expect(conns).toHaveLength(2);
    expect(conns[1].closed).toBe(false);
    expect(conns[1].messages.some((m) => m.path === 'ssml' && m.text?.includes('after barge-in'))).toBe(true);
    expect(aborted.messages.some((m) => m.text?.includes('after barge-in'))).toBe(false);
    expect(pool.stats()).toMatchObject({ created: 2, destroyed: 1, inUse: 0, idle: 1 });
  });

  it('discards the synthesizer when a silent service trips the first-chunk timeout (PROVIDER_TIMEOUT)', async () => {
    fake.tts = { kind: 'silent' };
    const engine = tts({ firstChunkMs: 400 }, { sampleRate: 16000, pool: { minIdle: 1 } });
    await engine.start();
    const pool = poolOf(engine, 16000);
    const started = Date.now();
    const err = await failure(drain(engine.synthesize({ text: 'hi', voice, sampleRate: 16000 })));
    expect(err.code).toBe('PROVIDER_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(pool.stats()).toMatchObject({ inUse: 0, destroyed: 1 });
    await until(() => ttsConnections()[0].closed, 2000);
  });

  it('waits for a free synthesizer at the cap, then times out with PROVIDER_TIMEOUT within the first-chunk budget', async () => {
    fake.tts = { kind: 'audio', chunks: [...chunks, ...chunks], chunkDelayMs: 100 };
    const engine = tts({ firstChunkMs: 250 }, { sampleRate: 16000, pool: { max: 1, minIdle: 1 } });
    await engine.start();
    const busy = drain(engine.synthesize({ text: 'slow but steady', voice, sampleRate: 16000 }));
    await until(() => poolOf(engine, 16000).stats().inUse === 1);
    const started = Date.now();
    const err = await failure(drain(engine.synthesize({ text: 'no room', voice, sampleRate: 16000 })));
    expect(err.code).toBe('PROVIDER_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(600);
    // The first synthesis still completes on its connection: the waiter never got a second one.
    expect(Buffer.concat(await busy).equals(Buffer.concat([pcm, pcm]))).toBe(true);
    expect(ttsConnections()).toHaveLength(1);
  });

  it('startSpeechEngines boots with a refused key, lists both pools, synthesizes on demand later, and close() closes them', async () => {
    const config = loadConfig(
      {
        TTS_DRIVER: 'azure',
        AZURE_SPEECH_KEY: KEY,
        AZURE_SPEECH_ENDPOINT: fake.url,
        MEDIA_AUDIO_FORMAT: 'pcm24KMono',
        AZURE_TTS_POOL_MIN_IDLE: '1',
      },
      { envFile: false },
    );
    fake.rejectStatus = 401;
    const engines = await startSpeechEngines(config, logger, ['tts']);
    try {
      expect(engines.failures).toEqual({});
      expect(engines.pools.map((p) => p.name)).toEqual(
        expect.arrayContaining(['azure-tts-16k', 'azure-tts-24k']),
      );
      const warm = engines.pools.find((p) => p.name === 'azure-tts-24k')!;
      expect(warm.stats().createFailures).toBeGreaterThan(0);
      expect(logLines.some((l) => l.includes('"level":40') && l.includes('warm-up failed'))).toBe(true);

      fake.rejectStatus = undefined;
      fake.tts = { kind: 'audio', chunks, chunkDelayMs: 5 };
      const out = await drain(engines.tts.synthesize({ text: 'hello', voice, sampleRate: 24000 }));
      expect(Buffer.concat(out).equals(pcm)).toBe(true);
      expect(warm.stats()).toMatchObject({ inUse: 0, idle: 1 });
    } finally {
      await engines.close();
    }
    await until(() => ttsConnections().every((c) => c.closed));
  });
});

describe('Azure Speech credentials and tracing', () => {
  it('sends the key only where the SDK puts it and never writes it to the logs, even in SDK errors', async () => {
    fake.stt = { kind: 'phrases', phrases: [{ text: 'Hello.', offset: 0, duration: msToTicks(400) }] };
    const session = await stt().open({ sampleRate: 16000 });
    const events = record(session);
    await feed(session, 16000, 10);
    await until(() => events.some((e) => e.type === 'final'));
    await session.close();

    const conn = fake.connections[0];
    expect(new URL(conn.url, 'ws://x').searchParams.get('Ocp-Apim-Subscription-Key')).toBe(KEY);
    expect(conn.headers['ocp-apim-subscription-key']).toBe(KEY);
    for (const m of conn.messages) {
      expect(m.text ?? '').not.toContain(KEY);
      expect(JSON.stringify(m.headers)).not.toContain(KEY);
    }

    fake.rejectStatus = 401;
    await failure(stt().open({ sampleRate: 16000 }));
    await failure(
      drain(tts().synthesize({ text: 'hi', voice: { name: 'en-US-JennyNeural' }, sampleRate: 16000 })),
    );
    const log = logLines.join('');
    expect(logLines.some((l) => l.includes('"level":40'))).toBe(true);
    expect(log).not.toContain(KEY);
    expect(log).not.toContain(ENCODED_KEY);
  });

  it('keeps the key out of logs, errors and pool stats when pooled synthesizers are refused or used', async () => {
    fake.rejectStatus = 401;
    const engine = tts({}, { sampleRate: 16000, pool: { minIdle: 1 } });
    const warmUp = await failure(engine.start());
    const refused = await failure(
      drain(engine.synthesize({ text: 'hi', voice: { name: 'en-US-JennyNeural' }, sampleRate: 16000 })),
    );
    expect(refused.code).toBe('PROVIDER_ERROR');
    expect(poolOf(engine, 16000).stats().lastError).toMatch(/connection failed/);

    fake.rejectStatus = undefined;
    fake.tts = { kind: 'audio', chunks: [Buffer.alloc(640, 2)] };
    await drain(engine.synthesize({ text: 'hi', voice: { name: 'en-US-JennyNeural' }, sampleRate: 16000 }));
    // The SDK did put the key on the wire (so there was something to leak)…
    expect(new URL(ttsConnections()[0].url, 'ws://x').searchParams.get('Ocp-Apim-Subscription-Key')).toBe(
      KEY,
    );

    const everything = [
      logLines.join(''),
      JSON.stringify(engine.pools.map((p) => p.stats())),
      warmUp.message,
      JSON.stringify(warmUp.details ?? {}),
      refused.message,
      JSON.stringify(refused.details ?? {}),
    ].join('\n');
    expect(logLines.some((l) => l.includes('"level":40'))).toBe(true);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(ENCODED_KEY);
  });

  it('traces one CLIENT span per recognition session and per synthesis, tagged peer.service=azure-speech', async () => {
    fake.stt = { kind: 'phrases', phrases: [{ text: 'Hi.', offset: 0, duration: msToTicks(300) }] };
    fake.tts = { kind: 'audio', chunks: [Buffer.alloc(640)] };
    const session = await stt().open({ sampleRate: 16000 });
    const events = record(session);
    await feed(session, 16000, 50);
    await until(() => events.some((e) => e.type === 'final'));
    await session.close();
    await drain(tts().synthesize({ text: 'hi', voice: { name: 'en-US-JennyNeural' }, sampleRate: 16000 }));

    const finished = spans.getFinishedSpans();
    expect(finished.map((s) => s.name).sort()).toEqual(['azure-speech recognize', 'azure-speech synthesize']);
    for (const span of finished) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.attributes['peer.service']).toBe('azure-speech');
    }
  });
});
