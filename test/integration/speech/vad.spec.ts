import { join } from 'node:path';
import { SileroVad, sileroModelPath, type SileroVadOptions } from '../../../src/speech/vad/silero-vad';
import { SileroThread } from '../../../src/speech/vad/silero-thread';
import { WebRtcVad } from '../../../src/speech/vad/webrtc-vad';
import type { VadEvent, VoiceActivityDetector } from '../../../src/speech/ports';
import { addNoise, concat, frames, rms, speak, whiteNoise } from '../../support/audio';
import { Resampler } from '../../../src/audio/resampler';
import { comfortNoise } from '../../../src/sim/energy';
import { until } from '../../support/wait';

/**
 * Generated caller audio: noise, utterance, long pause, utterance, noise. Ground truth per 20 ms frame
 * comes from the clean speech's energy (frames within 35 dB of its peak level count as speech).
 */
async function scene(noiseRmsRatio: number) {
  const a = await speak('I would like to report a claim for my car.');
  const b = await speak('My policy number is four five six seven.');
  const level = rms(concat(a, b));
  const gap = (ms: number) => new Int16Array((16000 * ms) / 1000);
  const clean = concat(gap(1000), a, gap(1500), b, gap(1000));
  const noisy = concat(clean);
  const noise = whiteNoise(clean.length, level * noiseRmsRatio);
  for (let i = 0; i < noisy.length; i++) noisy[i] = Math.max(-32768, Math.min(32767, noisy[i] + noise[i]));
  const truthFrames = frames(clean).map((f) => rms(f) > level * 10 ** (-35 / 20));
  return { noisy, truthFrames };
}

async function score(
  vad: VoiceActivityDetector,
  audio: Int16Array,
  truth: boolean[],
  sampleRate: 16000 | 24000 = 16000,
) {
  const stream = await vad.createStream(sampleRate, { minSilenceMs: 400 });
  let tp = 0;
  let fp = 0;
  let pos = 0;
  let neg = 0;
  const starts: number[] = [];
  frames(audio, sampleRate).forEach((f, i) => {
    const r = stream.process(f);
    if (r.event?.type === 'speech_start') {
      starts.push(r.event.atMs);
    }
    const isSpeech = truth[i] ?? false;
    // Frame decisions are scored on the raw probability; segments (with their deliberate hangover of
    // minSilence) are checked through the start events.
    const said = r.probability >= 0.5;
    if (isSpeech) {
      pos++;
      if (said) tp++;
    } else {
      neg++;
      if (said) fp++;
    }
  });
  stream.close();
  return { tpr: tp / pos, fpr: fp / neg, starts };
}

describe('voice activity detection on generated speech with pauses and noise', () => {
  const silero = new SileroVad();
  /** Batches on the main thread at the end of each event-loop turn (VAD_BATCH_MS=0). */
  const sileroTurn = new SileroVad(undefined, { batchMs: 0, thread: 'main' });
  /** Batches on the main thread after VAD_BATCH_MS (4 ms). */
  const sileroMain = new SileroVad(undefined, { thread: 'main' });
  const webrtc = new WebRtcVad();
  afterAll(async () => {
    await Promise.all([silero.dispose(), sileroTurn.dispose(), sileroMain.dispose()]);
  });

  // Bounds measured on flite speech (slt voice): Silero clean TPR .975 / FPR .068, white noise at
  // −20 dB TPR .983 / FPR .081; WebRTC clean TPR .979 / FPR .077 (FPR is mostly word-final decay
  // that the energy ground truth calls silence). The bounds leave a margin.
  it('Silero finds both utterances in clean audio with TPR ≥ 0.9 and FPR ≤ 0.12', async () => {
    const { noisy, truthFrames } = await scene(0);
    const r = await score(silero, noisy, truthFrames);
    expect(r.starts).toHaveLength(2);
    expect(r.tpr).toBeGreaterThanOrEqual(0.9);
    expect(r.fpr).toBeLessThanOrEqual(0.12);
  });

  it('Silero stays accurate in white noise 20 dB below the speech: TPR ≥ 0.9, FPR ≤ 0.15', async () => {
    const { noisy, truthFrames } = await scene(0.1);
    const r = await score(silero, noisy, truthFrames);
    expect(r.starts).toHaveLength(2);
    expect(r.tpr).toBeGreaterThanOrEqual(0.9);
    expect(r.fpr).toBeLessThanOrEqual(0.15);
  });

  it('WebRTC VAD finds both utterances in clean audio with TPR ≥ 0.9 and FPR ≤ 0.12', async () => {
    const { noisy, truthFrames } = await scene(0);
    const r = await score(webrtc, noisy, truthFrames);
    expect(r.starts).toHaveLength(2);
    expect(r.tpr).toBeGreaterThanOrEqual(0.9);
    expect(r.fpr).toBeLessThanOrEqual(0.12);
  });

  it('both detectors accept 24 kHz input (resampled internally)', async () => {
    const { noisy, truthFrames } = await scene(0);
    const up = await Resampler.create(16000, 24000);
    const audio24 = up.process(noisy).slice();
    up.dispose();
    for (const vad of [silero, webrtc]) {
      const r = await score(vad, audio24, truthFrames, 24000);
      expect([vad.driver, r.starts.length]).toEqual([vad.driver, 2]);
      expect(r.tpr).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('Silero detects speech after seconds of a quiet line as promptly as after a short pause (barge-in)', async () => {
    // The caller's line is quiet while the agent talks; then they barge in. Carried through seconds of
    // quiet, Silero's LSTM state used to delay the onset (up to 760 ms after these gaps, against ~300).
    const stream = await sileroTurn.createStream(16000, {
      minSpeechMs: 250,
      minSilenceMs: 400,
      paddingMs: 0,
    });
    const texts = [
      'can you tell me what happens next',
      'yes that is right thank you',
      'my car was hit in a parking lot',
    ];
    const delays: Record<string, number[]> = { short: [], long: [] };
    let frame = 0;
    const feed = (pcm: Int16Array) => {
      let start: number | undefined;
      for (const f of frames(pcm)) {
        if (stream.process(f).event?.type === 'speech_start') start ??= frame;
        frame++;
      }
      return start;
    };
    for (const [i, text] of texts.entries()) {
      for (const [gap, ms] of [
        ['long', 9000],
        ['short', 400],
      ] as const) {
        feed(comfortNoise(16 * ms, -70, i * 2 + ms));
        const speech = await speak(text, 16000);
        // The first frame with energy (flite starts with a little silence), as the simulator marks onsets.
        const onset = frame + frames(speech).findIndex((f) => f.some((v) => Math.abs(v) > 300));
        const started = feed(speech);
        expect(started).toBeDefined();
        delays[gap].push((started! + 1 - onset) * 20);
      }
      feed(comfortNoise(16 * 600, -70));
    }
    stream.close();
    // minSpeechMs (250) + Silero's own onset (a window or two): the same after a long quiet stretch.
    expect(Math.max(...delays.long)).toBeLessThanOrEqual(360);
    expect(Math.max(...delays.long) - Math.min(...delays.short)).toBeLessThanOrEqual(80);
  });

  it("Silero counts the barge-in minimum from the caller's first loud frame, not from its own later onset", async () => {
    // Silero says speech 20-100 ms after a word's first sound; the onset lookback moves the onset back
    // to the loud frames before that, so a 250 ms barge-in minimum is 250 ms of the caller's speech.
    const lookback = new SileroVad(undefined, { thread: 'main' });
    const own = new SileroVad(undefined, { thread: 'main', onsetLookbackMs: 0 });
    const texts = ['I would like to report a claim please', 'I was not hurt but the door is damaged'];
    const delays = { lookback: [] as number[], own: [] as number[] };
    const starts = { lookback: [] as number[], own: [] as number[] };
    for (const text of texts) {
      const speech = await speak(text, 16000);
      // The simulator's onset: the first 20 ms frame above −45 dBFS.
      const firstLoud = frames(speech).findIndex((f) => rms(f) > 32768 * 10 ** (-45 / 20));
      // Different phases of the 32 ms Silero window against the 20 ms frames.
      for (let lead = 0; lead < 8; lead++) {
        const audio = concat(comfortNoise(16 * (500 + 20 * lead) + 50 * lead, -70, lead), speech);
        const onsetFrame = Math.floor((16 * (500 + 20 * lead) + 50 * lead) / 320) + firstLoud;
        for (const [name, vad] of [
          ['lookback', lookback],
          ['own', own],
        ] as const) {
          const stream = await vad.createStream(16000, { minSpeechMs: 250, minSilenceMs: 400, paddingMs: 0 });
          const at = frames(audio).findIndex((f) => stream.process(f).event?.type === 'speech_start');
          stream.close();
          expect(at).toBeGreaterThan(0);
          delays[name].push((at - onsetFrame) * 20);
          starts[name].push(at);
        }
      }
    }
    await Promise.all([lookback.dispose(), own.dispose()]);
    // The sim's bargein_ms counts from the onset frame's send time to the StopAudio after the deciding
    // frame: (deciding frame − onset frame) × 20 ms here, before any transport or batching delay.
    expect(Math.max(...delays.lookback)).toBeLessThanOrEqual(250);
    expect(Math.min(...delays.lookback)).toBeGreaterThanOrEqual(220);
    expect(Math.max(...delays.own)).toBeGreaterThan(Math.max(...delays.lookback) + 40);
    // Never later than without the lookback.
    starts.lookback.forEach((at, i) => expect(at).toBeLessThanOrEqual(starts.own[i]));
  });

  it('noise alone (no speech) produces no speech segment with Silero', async () => {
    const stream = await silero.createStream(16000);
    const events = frames(addNoise(whiteNoise(16000 * 3, 1500), 0))
      .map((f) => stream.process(f).event)
      .filter(Boolean);
    stream.close();
    expect(events).toEqual([]);
  });

  it('batches Silero across calls: deferred streams report the same events as a synchronous one, in fewer runs', async () => {
    const { noisy } = await scene(0.1);
    const reference = await sileroTurn.createStream(16000, { minSilenceMs: 400 });
    const expected: unknown[] = [];
    for (const f of frames(noisy)) {
      const e = reference.process(f).event;
      if (e) expected.push(e);
    }
    reference.close();

    const calls = 8;
    const streams = await Promise.all(
      Array.from({ length: calls }, () => sileroTurn.createStream(16000, { minSilenceMs: 400 })),
    );
    const events: unknown[][] = streams.map(() => []);
    streams.forEach((stream, i) => stream.onEvent!((e) => events[i].push(e)));
    const before = { ...sileroTurn.stats };
    let immediate = 0;
    for (const f of frames(noisy)) {
      // One 20 ms tick: a frame of every call arrives, then the event loop turns (the batch runs).
      streams.forEach((stream, i) => {
        const e = stream.process(f).event;
        if (e) {
          immediate++;
          events[i].push(e);
        }
      });
      await new Promise((r) => setImmediate(r));
    }
    for (const stream of streams) stream.close();
    for (const got of events) expect(got).toEqual(expected);
    const runs = sileroTurn.stats.runs - before.runs;
    const windows = sileroTurn.stats.windows - before.windows;
    expect(windows).toBeGreaterThan(0);
    // Every call's window of a tick in one inference.
    expect(windows / runs).toBeGreaterThanOrEqual(calls - 0.01);
    expect(immediate + events.flat().length).toBeGreaterThan(0);
  });
  it('batches a burst of buffered audio (a call start-up replay): no synchronous runs, one batch per event-loop turn, same events', async () => {
    const { noisy } = await scene(0.1);
    const all = frames(noisy);
    const burst = all.slice(0, 150); // 3 s, longer than the steady-state window ring
    const reference = await sileroTurn.createStream(16000, { minSilenceMs: 400 });
    const expected: unknown[] = [];
    for (const f of all) {
      const e = reference.process(f).event;
      if (e) expected.push(e);
    }
    reference.close();

    const calls = 6;
    const streams = await Promise.all(
      Array.from({ length: calls }, () => sileroTurn.createStream(16000, { minSilenceMs: 400 })),
    );
    const events: unknown[][] = streams.map(() => []);
    streams.forEach((stream, i) => stream.onEvent!((e) => events[i].push(e)));
    const before = { ...sileroTurn.stats };
    // An event is either returned by process() or reported to the listener later, never both.
    const feed = (i: number, f: Int16Array) => {
      const e = streams[i].process(f).event;
      if (e) events[i].push(e);
    };
    for (let i = 0; i < calls; i++) for (const f of burst) feed(i, f);
    // Everything was queued for the batch: nothing ran inside process().
    expect(sileroTurn.stats.runs).toBe(before.runs);
    let turns = 0;
    const turn = () => new Promise((r) => setImmediate(r));
    while (sileroTurn.stats.windows - before.windows < (calls * burst.length * 320) / 512 - calls) {
      const runs = sileroTurn.stats.runs;
      await turn();
      turns++;
      expect(sileroTurn.stats.runs - runs).toBeLessThanOrEqual(1);
      if (turns > 1000) throw new Error('the burst never drained');
    }
    // Then live audio, a frame of each call per turn.
    for (const f of all.slice(burst.length)) {
      for (let i = 0; i < calls; i++) feed(i, f);
      await turn();
    }
    for (const stream of streams) stream.close();
    for (const got of events) expect(got).toEqual(expected);
    const runs = sileroTurn.stats.runs - before.runs;
    const windows = sileroTurn.stats.windows - before.windows;
    expect(windows / runs).toBeGreaterThanOrEqual(calls - 0.01);
  });
  it('coalesces windows of calls arriving at different moments for VAD_BATCH_MS, and runs a full batch at once', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'performance'] });
    try {
      const frame = new Int16Array(320).map((_, i) => Math.round(3000 * Math.sin(i / 5)));
      const turn = () => new Promise((r) => setImmediate(r));
      const streams = await Promise.all(Array.from({ length: 40 }, () => sileroMain.createStream(16000)));
      for (const stream of streams) stream.onEvent!(() => undefined);
      const before = { ...sileroMain.stats };
      // Eight calls, each in its own event-loop turn: nothing runs before the batch window ends.
      for (const stream of streams.slice(0, 8)) {
        stream.process(frame);
        stream.process(frame); // 640 samples: one 512-sample window
        await turn();
      }
      expect(sileroMain.stats.runs).toBe(before.runs);
      jest.advanceTimersByTime(4);
      expect([sileroMain.stats.runs - before.runs, sileroMain.stats.windows - before.windows]).toEqual([
        1, 8,
      ]);
      // 32 calls with a window: a full batch runs at the end of the turn without waiting.
      for (const stream of streams.slice(8)) {
        stream.process(frame);
        stream.process(frame);
      }
      await turn();
      expect([sileroMain.stats.runs - before.runs, sileroMain.stats.windows - before.windows]).toEqual([
        2, 40,
      ]);
      for (const stream of streams) stream.close();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('Silero VAD inference in a worker thread', () => {
  const turn = () => new Promise((r) => setImmediate(r));
  /**
   * A frame of audio every 2 ms, ten times real time. Fed with no pause, a stream's windows would queue
   * faster than one worker round trip each, and past 5 s of queued audio they are dropped.
   */
  const tick = () => new Promise((r) => setTimeout(r, 2));
  const faulty = (fault: 'fatal' | 'exit' | 'hang') => ({
    file: join(__dirname, '../../support/silero-faulty.worker.ts'),
    execArgv: ['-r', require.resolve('@swc-node/register')],
    argv: [fault],
  });
  const reference = new SileroVad(undefined, { thread: 'main' });
  const owned: SileroVad[] = [];
  const vadWith = (options: SileroVadOptions) => {
    const vad = new SileroVad(undefined, options);
    owned.push(vad);
    return vad;
  };
  afterAll(async () => {
    await Promise.all([reference.dispose(), ...owned.map((vad) => vad.dispose())]);
  });

  async function expectedEvents(audio: Int16Array): Promise<VadEvent[]> {
    const stream = await reference.createStream(16000, { minSilenceMs: 400 });
    const events = frames(audio)
      .map((f) => stream.process(f).event)
      .filter((e): e is VadEvent => e !== undefined);
    stream.close();
    return events;
  }

  /** `calls` streams of `vad` fed the same audio, a frame of each per tick. */
  async function callEvents(vad: SileroVad, audio: Int16Array, calls: number): Promise<VadEvent[][]> {
    const streams = await Promise.all(
      Array.from({ length: calls }, () => vad.createStream(16000, { minSilenceMs: 400 })),
    );
    const events: VadEvent[][] = streams.map(() => []);
    streams.forEach((stream, i) => stream.onEvent!((e) => events[i].push(e)));
    for (const f of frames(audio)) {
      streams.forEach((stream, i) => {
        const e = stream.process(f).event;
        if (e) events[i].push(e);
      });
      await tick();
    }
    await until(() => vad.idle, 10_000, 5);
    for (const stream of streams) stream.close();
    return events;
  }

  it('runs the batches of many calls in the worker, with the same events as a synchronous stream', async () => {
    const { noisy } = await scene(0.1);
    const expected = await expectedEvents(noisy);
    const vad = vadWith({});
    await vad.start();
    expect(vad.runsOn).toBe('worker');
    const calls = 8;
    const before = { ...vad.stats };
    const events = await callEvents(vad, noisy, calls);
    for (const got of events) expect(got).toEqual(expected);
    const runs = vad.stats.runs - before.runs;
    expect(vad.stats.workerRuns - before.workerRuns).toBe(runs);
    expect([vad.stats.failures, vad.stats.dropped]).toEqual([0, 0]);
    // The calls are fed in step, so every batch carries a window of each.
    expect((vad.stats.windows - before.windows) / runs).toBeGreaterThanOrEqual(calls - 0.01);
  });

  it('a stream reset while its window is in the worker takes nothing from that window', async () => {
    const { noisy } = await scene(0.1);
    const expected = await expectedEvents(noisy);
    const vad = vadWith({ batchMs: 0 });
    const stream = await vad.createStream(16000, { minSilenceMs: 400 });
    const events: VadEvent[] = [];
    stream.onEvent!((e) => events.push(e));
    const speech = frames(noisy).slice(60, 62); // inside the first utterance: one window
    for (const f of speech) stream.process(f);
    await turn(); // the batch went to the worker; its answer cannot have been handled yet
    expect(vad.idle).toBe(false);
    stream.reset();
    for (const f of frames(noisy)) {
      const e = stream.process(f).event;
      if (e) events.push(e);
      await tick();
    }
    await until(() => vad.idle, 10_000, 5);
    stream.close();
    expect(events).toEqual(expected);
  });

  it('moves inference to the main thread when the worker crashes, and the calls keep their events', async () => {
    const { noisy } = await scene(0.1);
    const reasons: string[] = [];
    const vad = vadWith({
      onThreadFailure: (reason) => reasons.push(reason),
      threadOptions: { entry: faulty('exit') },
    });
    await vad.start();
    expect(vad.runsOn).toBe('worker');
    const events = await callEvents(vad, noisy, 2);
    expect(reasons).toEqual([expect.stringMatching(/Silero VAD worker exited \(3\)/)]);
    expect(vad.runsOn).toBe('main');
    expect(vad.stats.failures).toBe(1); // the batch the worker took down with it: silence
    expect(vad.stats.workerRuns).toBe(0);
    for (const got of events) expect(got.filter((e) => e.type === 'speech_start')).toHaveLength(2);
  });

  it('fails a worker that does not answer within its stall bound and carries on on the main thread', async () => {
    const { noisy } = await scene(0.1);
    const reasons: string[] = [];
    const vad = vadWith({
      onThreadFailure: (reason) => reasons.push(reason),
      threadOptions: { entry: faulty('hang'), stallTimeoutMs: 100 },
    });
    const events = await callEvents(vad, noisy, 2);
    expect(reasons).toEqual(['Silero VAD worker did not answer a batch within 100 ms']);
    expect(vad.runsOn).toBe('main');
    for (const got of events) expect(got.filter((e) => e.type === 'speech_start')).toHaveLength(2);
  });

  it('a stream 5 s behind a worker that does not answer drops its windows beyond that, not the call', async () => {
    const vad = vadWith({ threadOptions: { entry: faulty('hang'), stallTimeoutMs: 60_000 } });
    const stream = await vad.createStream(16000);
    stream.onEvent!(() => undefined);
    const frame = new Int16Array(320).map((_, i) => Math.round(3000 * Math.sin(i / 5)));
    for (let f = 0; f < 300; f++) {
      expect(stream.process(frame).probability).toBe(0);
      await turn();
    }
    // 300 frames cut 187 windows: the one in the worker and 159 behind it are kept (160, ~5 s).
    expect(vad.stats.dropped).toBe(187 - 160);
    stream.close();
  });

  it('runs on the main thread when the worker cannot start, and says why', async () => {
    const { noisy } = await scene(0);
    const reasons: string[] = [];
    const vad = vadWith({
      onThreadFailure: (reason) => reasons.push(reason),
      threadOptions: { entry: faulty('fatal') },
    });
    await vad.start();
    expect(reasons).toEqual(['Silero VAD worker failed to start: model file is corrupt']);
    expect(vad.runsOn).toBe('main');
    const [events] = await callEvents(vad, noisy, 1);
    expect(events).toEqual(await expectedEvents(noisy));
  });

  it('the worker exits on its own when disposed, between batches', async () => {
    const thread = await SileroThread.start({ modelPath: sileroModelPath() });
    // A grace far beyond the test's timeout: only the worker's own exit can end this in time.
    await thread.dispose(60_000);
    expect(thread.failed).toBe('disposed');
    expect(() => thread.submit(1, () => undefined)).toThrow(/worker failed/);
  });
});
