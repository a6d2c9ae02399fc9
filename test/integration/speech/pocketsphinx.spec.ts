import { bufferView } from '../../../src/audio/pcm';
import type { Lease, ResourcePool } from '../../../src/common/pool/resource-pool';
import { createPocketsphinxPool, LocalSpeechToText } from '../../../src/speech/local/local-speech-to-text';
import type { PocketsphinxDecoder } from '../../../src/speech/local/pocketsphinx/pocketsphinx-decoder';
import { normalizeNumbers, wordsToDigits } from '../../../src/speech/numbers';
import type { SttEvent, SttSession } from '../../../src/speech/ports/speech-to-text.port';
import { concat, frames, speak } from '../../support/audio';
import { until } from '../../support/wait';

// Real pocketsphinx (Debian libpocketsphinx3 + pocketsphinx-en-us) in worker threads. One pool for
// the file: a decoder takes ~0.3-1 s to load. flite's "rms" voice is used for digits: its "four" is
// recognised reliably, the "slt" voice's is heard as "five".

const SILENCE = new Int16Array(16000 * 0.3);

interface Recorder {
  events: SttEvent[];
  finals: Array<Extract<SttEvent, { type: 'final' }>>;
  nextFinal(): Promise<Extract<SttEvent, { type: 'final' }>>;
}

function record(session: SttSession): Recorder {
  const rec: Recorder = {
    events: [],
    finals: [],
    nextFinal: async () => {
      const seen = rec.finals.length;
      await until(() => rec.finals.length > seen, 5_000);
      return rec.finals[seen];
    },
  };
  session.onEvent((event) => {
    rec.events.push(event);
    if (event.type === 'final') rec.finals.push(event);
  });
  return rec;
}

/** Streams 20 ms frames at ~4x real time, so the worker decodes while audio is still arriving. */
async function stream(session: SttSession, samples: Int16Array): Promise<void> {
  for (const [i, frame] of frames(concat(SILENCE, samples, SILENCE)).entries()) {
    session.write(bufferView(frame));
    if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

async function say(session: SttSession, rec: Recorder, text: string, voice = 'rms') {
  await stream(session, await speak(text, 16000, voice));
  const final = rec.nextFinal();
  session.endUtterance();
  return final;
}

describe('LocalSpeechToText (pocketsphinx in worker threads)', () => {
  let pool: ResourcePool<PocketsphinxDecoder>;
  let stt: LocalSpeechToText;
  const open: SttSession[] = [];

  /** Captures the lease the next open() takes, through the pool's public API. */
  function nextLease(): Promise<Lease<PocketsphinxDecoder>> {
    const acquire = pool.acquire.bind(pool);
    return new Promise((resolve) => {
      jest.spyOn(pool, 'acquire').mockImplementationOnce(async (options) => {
        const lease = await acquire(options);
        resolve(lease);
        return lease;
      });
    });
  }

  async function openSession(options: Parameters<LocalSpeechToText['open']>[0] = { sampleRate: 16000 }) {
    const session = await stt.open(options);
    open.push(session);
    return session;
  }

  beforeAll(async () => {
    pool = createPocketsphinxPool({ max: 2, minIdle: 1 });
    await pool.start();
    stt = new LocalSpeechToText(pool);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    await pool.close();
  });

  it('transcribes a sentence, sending partial hypotheses before the final with word timings', async () => {
    const session = await openSession();
    const rec = record(session);

    const final = await say(session, rec, 'please call me back tomorrow morning');

    expect(final.text).toBe('please call me back tomorrow morning');
    const partials = rec.events.filter((e) => e.type === 'partial');
    expect(partials.length).toBeGreaterThan(0);
    expect(rec.events.findIndex((e) => e.type === 'partial')).toBeLessThan(rec.events.indexOf(final));
    expect(final.words?.map((w) => w.word)).toEqual(final.text.split(' '));
    // Timings are on the session clock: after the leading 300 ms of silence, in order, inside the span.
    const words = final.words ?? [];
    expect(words[0].startMs).toBeGreaterThanOrEqual(200);
    for (let i = 1; i < words.length; i++)
      expect(words[i].startMs).toBeGreaterThanOrEqual(words[i - 1].endMs);
    expect(words[words.length - 1].endMs).toBeLessThanOrEqual(final.endMs ?? 0);
  });

  it('recognises digit strings exactly with the digits grammar', async () => {
    // The language model alone hears "for five six seven" and "shit so sick so one" here.
    const session = await openSession({ sampleRate: 16000, expected: 'digits' });
    const rec = record(session);

    const first = await say(session, rec, 'four five six seven');
    const second = await say(session, rec, 'six oh six oh one');

    expect(wordsToDigits(first.text)).toBe('4567');
    expect(normalizeNumbers(first.text)).toBe('4567');
    expect(wordsToDigits(second.text)).toBe('60601');
    // The second utterance's clock continues from the first.
    expect(second.startMs).toBeGreaterThanOrEqual(first.endMs ?? Infinity);
  });

  it('recognises yes/no answers with the yes_no grammar, then free speech again', async () => {
    const session = await openSession();
    const rec = record(session);

    // Audio flows between turns: the silent utterance already open restarts with the new grammar
    // (the language model alone hears this "yeah" as "yes").
    await stream(session, new Int16Array(0));
    session.setExpectedInput('yes_no');
    const yes = await say(session, rec, 'yeah', 'slt');
    const no = await say(session, rec, 'nope', 'slt');
    const right = await say(session, rec, "that's right", 'slt');
    session.setExpectedInput('free');
    const free = await say(session, rec, 'my name is john smith', 'slt');

    expect([yes.text, no.text, right.text]).toEqual(['yeah', 'nope', "that's right"]);
    expect(free.text).toBe('my name is john smith');
  });

  describe("gated by the caller's VAD (as the media cascade opens it)", () => {
    /**
     * Streams audio as the cascade does, with the VAD's view of it: `speech` is marked with
     * speechStarted() once `confirmMs` of it has been written (the VAD's minimum speech), with its onset
     * as far back as that (or `agoMs`); `background` is written unmarked (nothing the VAD took for the
     * caller).
     */
    async function turn(
      session: SttSession,
      rec: Recorder,
      parts: { background?: Int16Array; speech: Int16Array; confirmMs?: number; agoMs?: number },
    ) {
      const confirmFrames = (parts.confirmMs ?? 260) / 20;
      // Background words end well before the caller speaks (the agent is still talking, say).
      const gap = parts.background ? new Int16Array(16 * 2_000) : SILENCE;
      await stream(session, concat(SILENCE, parts.background ?? new Int16Array(0), gap));
      for (const [i, frame] of frames(concat(parts.speech, SILENCE)).entries()) {
        session.write(bufferView(frame));
        if (i + 1 === confirmFrames) session.speechStarted(parts.agoMs ?? confirmFrames * 20);
        if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 15));
      }
      const final = rec.nextFinal();
      session.endUtterance();
      return final;
    }

    it("decodes only around the caller's speech: background words between turns neither become text nor keep the previous question's grammar", async () => {
      const session = await openSession({ sampleRate: 16000, expected: 'digits', gated: true });
      const rec = record(session);

      const zip = await turn(session, rec, { speech: await speak('six oh six oh one', 16000, 'rms') });
      session.setExpectedInput('free');
      // Ungated, these words opened an utterance with the digits grammar that the switch to free speech
      // could no longer restart, so the answer below was heard as digits ("nine seven").
      const answer = await turn(session, rec, {
        background: await speak('four five', 16000, 'rms'),
        speech: await speak('i had an accident', 16000, 'rms'),
      });

      expect(wordsToDigits(zip.text)).toBe('60601');
      expect(answer.text).toMatch(/^i had an accident/);
      expect(rec.events.filter((e) => e.type === 'partial' && /four|five/.test(e.text))).toEqual([]);
    });

    it('a late VAD onset loses nothing: the utterance reaches back to it through the kept audio', async () => {
      const session = await openSession({ sampleRate: 16000, gated: true });
      const rec = record(session);
      const speech = await speak('please call me back tomorrow morning', 16000, 'rms');

      // Confirmed only after the whole sentence (a start-up replay, a slow VAD batch).
      const final = await turn(session, rec, { speech, confirmMs: Math.floor(speech.length / 320) * 20 });

      expect(final.text).toBe('please call me back tomorrow morning');
      // Word times stay on the session's clock: the speech began after 600 ms of silence.
      expect(final.words?.[0].startMs).toBeGreaterThanOrEqual(550);
    });

    it('an onset never reaches back into the previous utterance', async () => {
      const session = await openSession({ sampleRate: 16000, gated: true });
      const rec = record(session);
      await turn(session, rec, { speech: await speak('six oh six oh one', 16000, 'rms') });

      const next = await turn(session, rec, {
        speech: await speak('tomorrow morning', 16000, 'rms'),
        agoMs: 2_500, // more than the silence since the last utterance ended
      });

      expect(next.text).toBe('tomorrow morning');
      expect(next.startMs).toBeGreaterThanOrEqual(rec.finals[0].endMs ?? Infinity);
    });

    it('says nothing for audio the VAD never marked: an end without a start is an empty final', async () => {
      const session = await openSession({ sampleRate: 16000, gated: true });
      const rec = record(session);
      await stream(session, await speak('please call me back', 16000, 'rms'));

      const final = rec.nextFinal();
      session.endUtterance();

      expect((await final).text).toBe('');
      expect(rec.events.filter((e) => e.type === 'partial')).toEqual([]);
    });

    describe('decoders leased per utterance', () => {
      let one: ResourcePool<PocketsphinxDecoder>;
      let oneStt: LocalSpeechToText;
      beforeAll(async () => {
        one = createPocketsphinxPool({ max: 1, minIdle: 1, acquireTimeoutMs: 4_000 });
        await one.start();
        oneStt = new LocalSpeechToText(one);
      });
      afterAll(() => one.close());

      it('holds no decoder while the caller is quiet, so one decoder serves three calls in turn', async () => {
        const sessions = await Promise.all(
          [0, 1, 2].map(() => oneStt.open({ sampleRate: 16000, gated: true })),
        );
        try {
          const recs = sessions.map(record);
          expect(one.stats().inUse).toBe(0);
          const texts = ['please call me back', 'tomorrow morning', 'i had an accident'];
          const finals = [];
          for (const [i, session] of sessions.entries()) {
            finals.push((await turn(session, recs[i], { speech: await speak(texts[i], 16000, 'rms') })).text);
            await until(() => one.stats().inUse === 0, 2_000);
          }
          expect(finals).toEqual(texts);
        } finally {
          await Promise.all(sessions.map((s) => s.close()));
        }
      });

      it('an utterance that waits for a decoder keeps its audio and is decoded once one is free', async () => {
        const [a, b] = await Promise.all([0, 1].map(() => oneStt.open({ sampleRate: 16000, gated: true })));
        try {
          const [recA, recB] = [record(a), record(b)];
          const speechA = await speak('please call me back tomorrow morning', 16000, 'rms');
          const speechB = await speak('i had an accident', 16000, 'rms');
          // Both callers start at once; A gets the only decoder, B waits with its audio in its ring.
          const frameCount = Math.max(speechA.length, speechB.length) / 320 + 15;
          const fa = frames(concat(SILENCE, speechA, new Int16Array(16000)));
          const fb = frames(concat(SILENCE, speechB, new Int16Array(16000)));
          for (let i = 0; i < frameCount; i++) {
            if (fa[i]) a.write(bufferView(fa[i]));
            if (fb[i]) b.write(bufferView(fb[i]));
            if (i === 15 + 13) {
              a.speechStarted(260);
              b.speechStarted(260);
            }
            if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 15));
          }
          expect(one.stats().waiting).toBe(1);
          const finalB = recB.nextFinal();
          b.endUtterance();
          const finalA = recA.nextFinal();
          a.endUtterance();

          expect((await finalA).text).toBe('please call me back tomorrow morning');
          expect((await finalB).text).toBe('i had an accident');
          await until(() => one.stats().inUse === 0, 2_000);
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      });

      it('gives the decoder back when the session closes mid-utterance', async () => {
        const session = await oneStt.open({ sampleRate: 16000, gated: true });
        for (const frame of frames(await speak('please call me back', 16000, 'rms'))) {
          session.write(bufferView(frame));
        }
        session.speechStarted(500);
        await until(() => one.stats().inUse === 1, 2_000);

        await session.close();

        expect(one.stats()).toMatchObject({ inUse: 0, idle: 1 });
      });

      it('reports an error and closes when no decoder frees up in time', async () => {
        const busy = await one.acquire();
        const session = await oneStt.open({ sampleRate: 16000, gated: true });
        try {
          const rec = record(session);
          session.write(Buffer.alloc(640));
          session.speechStarted(20);

          await until(() => rec.events.some((e) => e.type === 'error'), 6_000);
          expect(rec.events.find((e) => e.type === 'error')).toMatchObject({
            error: { message: expect.stringContaining('no resource free') },
          });
        } finally {
          busy.release();
          await session.close();
        }
      });
    });
  });

  it('decodes in a worker thread, never on the main event loop', async () => {
    const lease = await pool.acquire();
    try {
      expect(lease.resource.info.isMainThread).toBe(false);
      expect(lease.resource.info.threadId).toBeGreaterThan(0);
    } finally {
      lease.release();
    }
  });

  it('returns the decoder to the pool when the session closes, for the next session to reuse', async () => {
    const leased = nextLease();
    const session = await openSession();
    const { resource } = await leased;
    expect(pool.stats().inUse).toBe(1);
    const before = pool.stats();

    await session.close();
    await session.close(); // idempotent

    expect(pool.stats()).toMatchObject({ inUse: 0, idle: before.idle + 1, destroyed: before.destroyed });
    const reused = nextLease();
    await openSession();
    expect((await reused).resource).toBe(resource);
  });

  it('reports a crashed worker to the session as an error, discards it and the pool replaces it', async () => {
    const leased = nextLease();
    const session = await openSession();
    const rec = record(session);
    const lease = await leased;
    const discard = jest.spyOn(lease, 'discard');
    const before = pool.stats();

    lease.resource.kill('test: worker crashed');

    await until(() => rec.events.some((e) => e.type === 'error'), 2_000);
    const error = rec.events.find((e) => e.type === 'error');
    expect(error).toMatchObject({ error: { code: 'PROVIDER_ERROR', message: 'test: worker crashed' } });
    expect(discard).toHaveBeenCalled();
    await until(() => pool.stats().created > before.created && pool.stats().idle >= 1, 5_000);
    expect(pool.stats().destroyed).toBe(before.destroyed + 1);
    // Writing to the dead session is harmless, and a new session works on the replacement.
    session.write(Buffer.alloc(640));
    session.endUtterance();
    const next = await openSession();
    const recNext = record(next);
    expect((await say(next, recNext, 'yes', 'slt')).text).toBe('yes');
  });

  it('reports a worker silent past its watchdog deadline as broken (PROVIDER_TIMEOUT)', async () => {
    const slowPool = createPocketsphinxPool({ max: 1, minIdle: 0, decoder: { watchdogMs: 500 } });
    try {
      const lease = await slowPool.acquire();
      const events: string[] = [];
      await lease.resource.open('free', (e) =>
        events.push(e.type === 'broken' ? `${e.error.code}: ${e.error.message}` : e.type),
      );
      // ~30 s of speech in ONE message: the worker is inside one native call for seconds, says nothing.
      const speech = await speak('please call me back tomorrow morning', 16000, 'rms');
      lease.resource.write(concat(...Array.from({ length: 12 }, () => speech)));
      lease.resource.endUtterance();

      await until(() => lease.resource.broken, 3_000);
      expect(events).toEqual([
        "PROVIDER_TIMEOUT: pocketsphinx worker did not answer 'final' and was silent for 500 ms",
      ]);
      lease.discard('test');
      await until(() => slowPool.stats().destroyed === 1, 3_000);
    } finally {
      await slowPool.close();
    }
  });

  it('keeps a worker that answers late but works through its backlog: behind is not hung', async () => {
    const slowPool = createPocketsphinxPool({ max: 1, minIdle: 0, decoder: { watchdogMs: 500 } });
    try {
      const session = await new LocalSpeechToText(slowPool).open({ sampleRate: 16000 });
      const rec = record(session);
      // ~20 s in 20 ms frames (60 ms messages): seconds of work, with heartbeats between messages.
      const speech = await speak('please call me back tomorrow morning', 16000, 'rms');
      const burst = concat(...Array.from({ length: 8 }, () => speech));
      const started = Date.now();
      for (const frame of frames(burst)) session.write(bufferView(frame));
      session.endUtterance();

      await until(() => rec.finals.length > 0 || rec.events.some((e) => e.type === 'error'), 20_000);
      expect(rec.finals[0]?.text).toContain('please call me back tomorrow morning');
      expect(Date.now() - started).toBeGreaterThan(500);
      expect(rec.events.filter((e) => e.type === 'error')).toEqual([]);
      expect(slowPool.stats().destroyed).toBe(0);
      await session.close();
    } finally {
      await slowPool.close();
    }
  });

  it('fails to start with the Debian packages to install when the model is missing', async () => {
    const broken = createPocketsphinxPool({
      max: 1,
      minIdle: 1,
      decoder: { modelDir: '/nonexistent/en-us' },
    });
    try {
      await expect(broken.start()).rejects.toMatchObject({
        code: 'NOT_AVAILABLE',
        message: expect.stringContaining(
          'apt-get install libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us',
        ),
      });
    } finally {
      await broken.close();
    }
  });

  it('transcribes 24 kHz audio by resampling it to the decoder rate', async () => {
    const session = await openSession({ sampleRate: 24000, expected: 'digits' });
    const rec = record(session);
    const audio = await speak('six oh six oh one', 24000, 'rms');
    for (const [i, frame] of frames(
      concat(new Int16Array(4800), audio, new Int16Array(4800)),
      24000,
    ).entries()) {
      session.write(bufferView(frame));
      if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const final = rec.nextFinal();
    session.endUtterance();
    expect(wordsToDigits((await final).text)).toBe('60601');
  });

  it('rejects sample rates it cannot take with a clear error', async () => {
    const before = pool.stats();
    await expect(stt.open({ sampleRate: 44100 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'local speech to text takes 16000 or 24000 Hz audio, got 44100 Hz',
    });
    expect(pool.stats().inUse).toBe(before.inUse);
  });

  it('closes the session and frees its decoder when the session signal aborts', async () => {
    const controller = new AbortController();
    await openSession({ sampleRate: 16000, signal: controller.signal });
    expect(pool.stats().inUse).toBe(1);

    controller.abort();

    await until(() => pool.stats().inUse === 0, 2_000);
  });
});
