import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { DomainError } from '../../../src/common/errors';
import { loadConfig } from '../../../src/config';
import { loadScenarioDir } from '../../../src/llm/agents/agent-loader';
import { RecordingCallControl } from '../../../src/llm/call-control.port';
import { DEFAULT_SCENARIOS_DIR } from '../../../src/llm/llm.factory';
import { Orchestrator } from '../../../src/llm/orchestrator';
import { insuranceTools } from '../../../src/llm/tools/insurance-tools';
import { ToolRegistry } from '../../../src/llm/tools/tool-registry';
import { MediaCascade } from '../../../src/media/cascade/media-cascade';
import { PHRASES, PhraseCache } from '../../../src/media/cascade/phrases';
import type { MediaConnection } from '../../../src/media/media-call';
import { FakeClock } from '../../../src/media/pipeline/clock';
import type { SessionWriteQueue } from '../../../src/session/session-write-queue';
import type { HistoryEntry, TurnMetrics } from '../../../src/session/session.types';
import type { SttEvent, SttSession } from '../../../src/speech/ports';
import { FakeChatModel, FakeStt, FakeTts, FakeVad, type FakeReply } from '../../fakes/pipeline-fakes';

const RATE = 16000;
const FRAME_BYTES = 640;
const SPEECH = Buffer.from(new Int16Array(320).fill(5000).buffer);
const SILENCE = Buffer.alloc(FRAME_BYTES);
const GREETING =
  'Thank you for calling Contoso Insurance. I can help with claims and policy questions. First, may I have your full name?';

const tools = new ToolRegistry().register(
  ...insuranceTools(join(DEFAULT_SCENARIOS_DIR, 'insurance', 'data')),
);
const scenario = loadScenarioDir(DEFAULT_SCENARIOS_DIR, 'insurance', tools.names());

interface Options {
  env?: Record<string, string>;
  reply?: (n: number) => FakeReply;
  /** Automatic STT finals (n-th end of utterance). */
  transcripts?: (n: number) => string | undefined;
  ttftMs?: number;
  tokensPerSecond?: number;
  /** Phrases (greeting, apology…) already synthesized, as after the boot-time pre-warm. */
  cached?: string[];
  /** Call control refuses every action (no call record, ACS error). */
  callControlFails?: boolean;
}

/**
 * One call's cascade on a fake clock with fake providers (VAD on frame energy, scripted STT / LLM /
 * TTS with delays): every timing is counted in 20 ms frames.
 */
function harness(options: Options = {}) {
  const config = loadConfig({ ...options.env }, { envFile: false });
  const clock = new FakeClock(0);
  const out: Array<{ at: number; kind: 'AudioData' | 'StopAudio' }> = [];
  const history: HistoryEntry[] = [];
  const turns: TurnMetrics[] = [];
  const observed: TurnMetrics[] = [];
  const writer = {
    appendHistory: (_id: string, e: HistoryEntry) => history.push(e),
    recordTurn: (_id: string, m: TurnMetrics) => turns.push(m),
    setContext: () => undefined,
    update: () => undefined,
  } as unknown as SessionWriteQueue;
  const closes: Array<{ code: number; reason: string }> = [];
  const connection: MediaConnection = {
    callConnectionId: 'call-1',
    sessionId: 'session-1',
    mode: 'media',
    settings: {},
    log: pino({ level: 'silent' }),
    span: trace.getTracer('test').startSpan('call'),
    send: (message) => {
      out.push({ at: clock.now(), kind: message.includes('"StopAudio"') ? 'StopAudio' : 'AudioData' });
      return true;
    },
    bufferedAmount: 0,
    close: (code, reason) => closes.push({ code, reason }),
  };
  const stt = new FakeStt({ clock, finalDelayMs: 160, transcripts: options.transcripts });
  const tts = new FakeTts({ clock, firstChunkMs: 80, msPerChar: 60, chunkMs: 200, speed: 4 });
  const vad = new FakeVad();
  const model = new FakeChatModel({
    clock,
    ttftMs: options.ttftMs ?? 300,
    tokensPerSecond: options.tokensPerSecond ?? 30,
    reply: options.reply ?? (() => ({ text: 'Thanks. What is your ZIP code?' })),
  });
  const callControl = new RecordingCallControl(() => {
    if (options.callControlFails) throw new DomainError('CALL_NOT_FOUND', 'no such call');
  });
  const phrases = new PhraseCache();
  const voice = { name: 'fake' };
  for (const text of options.cached ?? [])
    phrases.set(phrases.key(text, voice, RATE), Buffer.alloc((tts.audioMs(text) / 20) * FRAME_BYTES, 1));
  const cascade = new MediaCascade({
    connection,
    config: config.media,
    transferTarget: config.acs.transferTarget,
    stt,
    tts,
    vad,
    voiceFor: () => voice,
    orchestrator: (held) => new Orchestrator({ model, tools, callControl: held, writer }),
    callControl,
    scenario,
    writer,
    clock,
    phrases,
    observeTurn: (m) => observed.push(m),
  });

  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  /** `ms` of caller audio (speech or silence), one frame per 20 ms of fake time. */
  const feed = async (ms: number, speech = false) => {
    for (let t = 0; t < ms; t += 20) {
      // A frame arrives when its 20 ms have been captured.
      clock.advance(20);
      cascade.onFrame({
        kind: 'AudioData',
        pcm: speech ? SPEECH : SILENCE,
        byteLength: FRAME_BYTES,
        silent: false,
      });
      await flush();
    }
  };
  const audioSince = (t: number) => out.filter((o) => o.kind === 'AudioData' && o.at >= t).length;
  const stops = () => out.filter((o) => o.kind === 'StopAudio');
  /** AudioData messages sent after the last StopAudio. */
  const audioAfterStop = () => {
    const i = out.map((o) => o.kind).lastIndexOf('StopAudio');
    return out.slice(i + 1).filter((o) => o.kind === 'AudioData').length;
  };
  const start = async () => {
    cascade.onFrame({
      kind: 'AudioMetadata',
      sampleRate: RATE,
      channels: 1,
      encoding: 'PCM',
      frameBytes: FRAME_BYTES,
    });
    await flush();
  };
  /** Plays the greeting out (silence from the caller) until its history entry is written. */
  const pastGreeting = async () => {
    await start();
    for (let i = 0; i < 1000 && !history.some((h) => h.turn === 0); i++) await feed(20);
    expect(history[0]).toMatchObject({ role: 'agent', text: GREETING });
  };
  /** Runs fake time until `predicate` holds (at most `maxMs`), feeding caller silence. */
  const until = async (predicate: () => boolean, maxMs = 30_000) => {
    for (let t = 0; t < maxMs && !predicate(); t += 20) await feed(20);
    expect(predicate()).toBe(true);
  };
  const emit = (event: SttEvent) => stt.session.emit(event);
  return {
    config,
    clock,
    out,
    history,
    turns,
    observed,
    closes,
    stt,
    tts,
    vad,
    model,
    callControl,
    phrases,
    cascade,
    flush,
    feed,
    start,
    pastGreeting,
    until,
    emit,
    audioSince,
    stops,
    audioAfterStop,
  };
}

describe('MediaCascade (fake clock, fake providers)', () => {
  describe('greeting', () => {
    it('sends the cached greeting in the same tick as AudioMetadata (greeting_ttfb_ms 0)', async () => {
      const h = harness({ cached: [GREETING] });
      await h.start();
      expect(h.out[0]).toEqual({ at: 0, kind: 'AudioData' });
      expect(h.turns[0]).toMatchObject({ turn: 0, greeting_ttfb_ms: 0 });
      expect(h.tts.requests).toHaveLength(0);
    });

    it('synthesizes an uncached greeting (first frame when the TTS first chunk arrives) and caches it', async () => {
      const h = harness();
      await h.start();
      await h.feed(100);
      expect(h.out[0].at).toBe(80);
      expect(h.turns[0].greeting_ttfb_ms).toBe(80);
      await h.until(() => h.history.length > 0);
      expect(h.phrases.size).toBe(1);
    });
  });

  describe('caller audio', () => {
    /** Frames written one after another into one buffer, as the decoder does with its scratch buffer. */
    const feedScratch = (h: ReturnType<typeof harness>, scratch: Buffer, levels: number[]) => {
      for (const level of levels) {
        scratch.fill(0xff);
        for (let i = 0; i < FRAME_BYTES; i += 2) scratch.writeInt16LE(level, i);
        h.cascade.onFrame({ kind: 'AudioData', pcm: scratch, byteLength: FRAME_BYTES, silent: false });
      }
    };

    it('hands the VAD and STT each frame of a reused buffer with its own audio, exactly one frame long', async () => {
      const h = harness({ cached: [GREETING] });
      await h.start();
      const stream = h.vad.streams[0];
      const seen: Array<{ first: number; last: number; samples: number }> = [];
      const process = stream.process.bind(stream);
      jest.spyOn(stream, 'process').mockImplementation((frame) => {
        seen.push({ first: frame[0], last: frame[frame.length - 1], samples: frame.length });
        return process(frame);
      });
      const written: string[] = [];
      const session: SttSession = h.stt.session;
      const write = session.write.bind(session);
      jest.spyOn(session, 'write').mockImplementation((frame: Buffer) => {
        written.push(Buffer.from(frame).toString('hex'));
        write(frame);
      });
      // Aligned (the decoder's own buffer, larger than a frame), then misaligned (copied per frame).
      feedScratch(h, Buffer.alloc(FRAME_BYTES * 2), [100, 200, 300]);
      feedScratch(h, Buffer.alloc(FRAME_BYTES + 1).subarray(1), [400, 500]);
      const levels = [100, 200, 300, 400, 500];
      expect(seen).toEqual(levels.map((l) => ({ first: l, last: l, samples: FRAME_BYTES / 2 })));
      const frame = (level: number) => Buffer.from(new Int16Array(FRAME_BYTES / 2).fill(level).buffer);
      expect(written).toEqual(levels.map((l) => frame(l).toString('hex')));
    });
  });

  describe('turn taking', () => {
    it('commits on VAD silence plus the STT final; metrics add up and our overhead is zero frames', async () => {
      const h = harness({ cached: [GREETING], transcripts: () => 'alice brown', tokensPerSecond: Infinity });
      await h.pastGreeting();
      const speechStart = h.clock.now();
      await h.feed(1000, true);
      const speechEnd = h.clock.now();
      expect(speechEnd - speechStart).toBe(1000);
      await h.until(() => h.audioSince(speechEnd) > 0);
      const firstFrame = h.out.find((o) => o.kind === 'AudioData' && o.at >= speechEnd)!.at;
      // VAD end after 400 ms of silence, final 160 ms later, LLM first token 300 ms, TTS first audio 80 ms.
      expect(firstFrame - speechEnd).toBe(400 + 160 + 300 + 80);
      await h.until(() => h.turns.length === 2);
      expect(h.turns[1]).toMatchObject({
        turn: 1,
        eou_delay_ms: 560,
        stt_final_ms: 560,
        llm_ttft_ms: 300,
        tts_ttfb_ms: 80,
        e2e_latency_ms: 940,
        overhead_ms: 0,
      });
      expect(h.observed.map((m) => m.turn)).toEqual([0, 1]);
      expect(h.history.map((e) => [e.role, e.text])).toEqual([
        ['agent', GREETING],
        ['caller', 'alice brown'],
        ['agent', 'Thanks. What is your ZIP code?'],
      ]);
      expect(h.model.calls[0].messages.at(-1)).toEqual({ role: 'user', content: 'alice brown' });
    });

    it('commits without a final after TURN_STT_FINAL_WAIT_MS using the last partial', async () => {
      const h = harness({ cached: [GREETING], env: { TURN_STT_FINAL_WAIT_MS: '600' } });
      await h.pastGreeting();
      await h.feed(600, true);
      h.emit({ type: 'partial', text: 'my name is alice' });
      const speechEnd = h.clock.now();
      await h.until(() => h.model.calls.length === 1);
      expect(h.clock.now() - speechEnd).toBe(400 + 600);
      expect(h.model.calls[0].messages.at(-1)).toEqual({ role: 'user', content: 'my name is alice' });
    });

    it('pipelines TTS: the next sentence is synthesized while the previous one plays', async () => {
      const h = harness({
        cached: [GREETING],
        transcripts: () => 'hello',
        reply: () => ({ text: 'First sentence is here. Second sentence follows it. Third one ends.' }),
      });
      await h.pastGreeting();
      await h.feed(500, true);
      await h.until(() => h.tts.requests.length === 3);
      const [a, b] = h.tts.requests;
      const aEnds = a.startedAt + 80 + h.tts.audioMs(a.text);
      expect(b.startedAt).toBeLessThan(aEnds);
      await h.until(() => h.history.length === 3);
      // Frames sent: the whole reply, without gaps.
      const total = h.tts.requests.reduce((n, r) => n + h.tts.audioMs(r.text) / 20, 0);
      expect(h.out.filter((o) => o.kind === 'AudioData').length).toBe(h.tts.audioMs(GREETING) / 20 + total);
    });

    it('passes the agent’s expected input (digits after asking for a ZIP code) to the STT session', async () => {
      const h = harness({ cached: [GREETING], transcripts: () => 'alice brown' });
      await h.pastGreeting();
      await h.feed(500, true);
      await h.until(() => h.history.length === 3);
      expect(h.stt.session.expected.at(-1)).toBe('digits');
    });

    it('sets the next expected input as soon as the agent’s turn is decided, before its reply has been synthesized', async () => {
      const h = harness({ cached: [GREETING], transcripts: () => 'alice brown' });
      h.tts.hangWhen = (text) => text.includes('ZIP');
      await h.pastGreeting();
      await h.feed(500, true);
      await h.until(() => h.tts.requests.some((r) => r.text.includes('ZIP')));
      await h.until(() => h.model.calls.length === 1 && h.stt.session.expected.length > 1, 1_000);
      // The question is still being synthesized (it never finishes here): an answer, however quick,
      // is already heard with the digits grammar.
      expect(h.tts.requests.find((r) => r.text.includes('ZIP'))).toMatchObject({ aborted: false, chunks: 0 });
      expect(h.stt.session.expected).toEqual(['name', 'digits']);
    });

    it('opens a gated STT session and tells it where the caller’s speech began, in written audio', async () => {
      const h = harness({ cached: [GREETING], transcripts: () => 'alice brown' });
      await h.pastGreeting();
      expect(h.stt.session.options.gated).toBe(true);
      let written = 0;
      while (h.stt.session.speechStarts.length === 0 && written < 50) {
        await h.feed(20, true);
        written++;
      }
      // The VAD confirms speech after BARGE_IN_MIN_MS; its onset is the first speech frame.
      expect(h.stt.session.speechStarts).toEqual([written * 20]);
      expect(written * 20).toBeGreaterThanOrEqual(h.config.media.bargeInMinMs);
      await h.feed(1000);
      expect(h.stt.session.speechStarts).toHaveLength(1);
      expect(h.stt.session.endUtterances).toBe(1);
    });

    it('takes DTMF digits as a caller turn on #', async () => {
      const h = harness({ cached: [GREETING] });
      await h.pastGreeting();
      for (const digit of ['6', '0', '6', '0', '1', '#']) h.cascade.onFrame({ kind: 'DtmfData', digit });
      await h.until(() => h.model.calls.length === 1);
      expect(h.model.calls[0].messages.at(-1)).toEqual({ role: 'user', content: '6 0 6 0 1' });
    });
  });

  describe('barge-in', () => {
    const long =
      'Here is a long answer about your policy. It goes on and on. And on for quite a while. Until you stop me.';

    async function speaking(options: Options = {}) {
      const h = harness({
        cached: [GREETING],
        transcripts: () => 'what does it cover',
        reply: (n) => (n === 0 ? { text: long } : { text: 'Sure, go ahead.' }),
        ...options,
      });
      await h.pastGreeting();
      await h.feed(500, true);
      await h.until(() => h.turns.length === 2 || h.audioSince(h.clock.now() - 20) > 0);
      // Let the reply play for a second.
      await h.feed(1000);
      return h;
    }

    it('sends StopAudio in the VAD window that reaches BARGE_IN_MIN_MS and sends nothing after it', async () => {
      const h = await speaking({ transcripts: (n) => (n === 0 ? 'what does it cover' : undefined) });
      const onset = h.clock.now();
      await h.feed(240, true);
      expect(h.stops()).toHaveLength(0);
      await h.feed(20, true);
      expect(h.stops()).toHaveLength(1);
      // 13 frames: the first window holding 250 ms of speech.
      expect(h.stops()[0].at - onset).toBe(260);
      await h.feed(200, true);
      expect(h.audioAfterStop()).toBe(0);
    });

    it('cancels the generation once words confirm it: LLM and TTS see the abort, history keeps what was heard', async () => {
      const h = await speaking({ tokensPerSecond: 2 });
      expect(h.model.calls).toHaveLength(1);
      const onset = h.clock.now();
      await h.feed(300, true);
      h.emit({ type: 'partial', text: 'wait a moment' });
      await h.flush();
      expect(h.model.aborts).toBe(1);
      const cut = h.history.find((e) => e.interrupted)!;
      expect(cut.role).toBe('agent');
      expect(long.startsWith(cut.text)).toBe(true);
      expect(cut.text.length).toBeLessThan(long.length);
      expect(h.history.filter((e) => e.role === 'agent' && e.turn === 1)).toHaveLength(1);
      // The caller finishes; the next model call sees the reply cut to what was heard.
      await h.feed(200, true);
      await h.until(() => h.model.calls.length === 2);
      const lastAgent = h.model.calls[1].messages.filter((m) => m.role === 'assistant').at(-1)!;
      expect(lastAgent.content).toBe(`${cut.text} …`);
      const m = h.turns.find((t) => t.turn === 1)!;
      expect(m.bargein_ms).toBe(260);
      expect(onset).toBeGreaterThan(0);
    });

    it('resumes from the cut point on a backchannel, and the reply is recorded whole', async () => {
      const h = await speaking({ transcripts: (n) => (n === 0 ? 'what does it cover' : 'mm-hmm') });
      await h.feed(300, true);
      expect(h.stops()).toHaveLength(1);
      // End of speech after 400 ms of silence, the final 160 ms later: the agent resumes.
      await h.feed(540);
      expect(h.audioAfterStop()).toBe(0);
      await h.feed(40);
      expect(h.audioAfterStop()).toBeGreaterThan(0);
      await h.until(() => h.history.length === 3);
      expect(h.history[2]).toEqual(expect.objectContaining({ role: 'agent', text: long }));
      expect(h.history[2].interrupted).toBeUndefined();
      expect(h.model.aborts).toBe(0);
    });

    it('resumes after BARGE_IN_FALSE_TIMEOUT_MS when no words arrive (a cough)', async () => {
      const h = await speaking({ transcripts: (n) => (n === 0 ? 'what does it cover' : undefined) });
      await h.feed(300, true);
      await h.feed(1500 - 40 - 20);
      expect(h.audioAfterStop()).toBe(0);
      await h.feed(20);
      expect(h.audioAfterStop()).toBeGreaterThan(0);
      await h.until(() => h.history.length === 3);
      expect(h.history[2].text).toBe(long);
    });
  });

  describe('no stale replies', () => {
    it('merges utterances when the caller goes on before the reply starts: one turn, old output dropped', async () => {
      let n = 0;
      const h = harness({
        cached: [GREETING],
        transcripts: () => (n++ === 0 ? 'I want to report' : 'a claim for my car'),
        ttftMs: 600,
      });
      await h.pastGreeting();
      await h.feed(500, true);
      await h.until(() => h.model.calls.length === 1);
      const before = h.audioSince(0);
      // The caller goes on while the model thinks.
      await h.feed(400, true);
      expect(h.model.aborts).toBe(1);
      await h.until(() => h.model.calls.length === 2);
      expect(h.audioSince(0)).toBe(before);
      const users = h.model.calls[1].messages.filter((m) => m.role === 'user');
      expect(users.map((m) => m.content)).toEqual(['I want to report a claim for my car']);
      await h.until(() => h.history.length === 3);
      expect(h.history.filter((e) => e.role === 'caller').map((e) => e.text)).toEqual([
        'I want to report a claim for my car',
      ]);
      expect(h.turns.filter((t) => t.turn >= 1).map((t) => t.turn)).toEqual([1]);
    });

    it('drops audio of a cancelled generation that is still being synthesized', async () => {
      const h = harness({
        cached: [GREETING],
        transcripts: () => 'stop',
        reply: (n) => (n === 0 ? { text: 'One. Two. Three. Four. Five. Six.' } : { text: 'Okay.' }),
      });
      h.tts.hangWhen = undefined;
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.tts.requests.length >= 1);
      await h.feed(200);
      await h.feed(300, true);
      h.emit({ type: 'partial', text: 'stop please' });
      await h.flush();
      const cancelledAt = h.clock.now();
      const aborted = h.tts.requests.filter((r) => r.aborted).length;
      expect(aborted + h.model.aborts).toBeGreaterThan(0);
      // Nothing more from the first reply: the next audio is the answer to the new turn.
      await h.feed(300, true);
      await h.until(() => h.model.calls.length === 2);
      await h.until(() => h.audioSince(cancelledAt) > 0);
      const next = h.tts.requests.findIndex((r) => r.text === 'Okay.');
      const firstAfter = h.out.find((o) => o.kind === 'AudioData' && o.at >= cancelledAt)!;
      expect(firstAfter.at).toBeGreaterThanOrEqual(h.tts.requests[next].startedAt + 80);
    });
  });

  describe('provider failures', () => {
    it('apologises when the model fails and the call goes on', async () => {
      const h = harness({
        cached: [GREETING],
        transcripts: () => 'hello',
        reply: (n) =>
          n === 0 ? { error: new DomainError('PROVIDER_ERROR', 'model down') } : { text: 'How can I help?' },
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.history.some((e) => e.text === PHRASES.apology));
      await h.until(() => h.history.length === 4);
      await h.feed(400, true);
      await h.until(() => h.history.some((e) => e.text === 'How can I help?'));
      expect(h.callControl.actions).toHaveLength(0);
      expect(h.closes).toHaveLength(0);
    });

    it('plays the cached apology when TTS fails', async () => {
      const h = harness({
        cached: [GREETING, PHRASES.apology],
        transcripts: () => 'hello',
      });
      h.tts.failWhen = () => true;
      await h.pastGreeting();
      await h.feed(400, true);
      const sinceTurn = h.clock.now();
      await h.until(() => h.history.some((e) => e.text === PHRASES.apology));
      expect(h.audioSince(sinceTurn)).toBe(h.tts.audioMs(PHRASES.apology) / 20);
    });

    it('after PROVIDER_MAX_FAILURES in a row, says goodbye and hangs up only once it has been heard', async () => {
      const h = harness({
        cached: [GREETING],
        env: { PROVIDER_MAX_FAILURES: '2' },
        transcripts: () => 'hello',
        reply: () => ({ error: new DomainError('PROVIDER_TIMEOUT', 'model slow') }),
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.history.some((e) => e.text === PHRASES.apology));
      await h.feed(400, true);
      await h.until(() => h.tts.requests.some((r) => r.text === PHRASES.failureGoodbye));
      await h.feed(500);
      expect(h.callControl.actions).toHaveLength(0);
      await h.until(() => h.callControl.actions.length === 1);
      expect(h.callControl.actions[0]).toMatchObject({ type: 'hangup_requested', sessionId: 'session-1' });
      expect(h.history.at(-1)).toMatchObject({ text: PHRASES.failureGoodbye });
      // Ending: the caller's next words start no turn.
      await h.feed(400, true);
      await h.feed(1000);
      expect(h.model.calls).toHaveLength(2);
    });

    it('transfers to TRANSFER_TARGET instead when one is configured', async () => {
      const h = harness({
        cached: [GREETING],
        env: { PROVIDER_MAX_FAILURES: '1', TRANSFER_TARGET: '+14255550100' },
        transcripts: () => 'hello',
        reply: () => ({ error: new DomainError('PROVIDER_ERROR', 'down') }),
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.callControl.actions.length === 1);
      expect(h.callControl.actions[0]).toMatchObject({ type: 'transfer_requested', target: '+14255550100' });
      expect(h.history.at(-1)).toMatchObject({ text: PHRASES.failureTransfer });
    });

    it('reopens speech recognition after an STT failure and apologises for a lost utterance', async () => {
      // Each session's first end of utterance gets nothing: the new session never heard the lost words.
      const h = harness({ cached: [GREETING], transcripts: (n) => (n === 0 ? undefined : 'alice brown') });
      await h.pastGreeting();
      await h.feed(300, true);
      const first = h.stt.session;
      first.fail();
      await h.flush();
      expect(h.stt.sessions).toHaveLength(2);
      expect(h.stt.openSessions).toBe(1);
      await h.until(() => h.history.some((e) => e.text === PHRASES.apology));
      expect(h.history.find((e) => e.text === PHRASES.apology)?.interrupted).toBeUndefined();
      await h.feed(500, true);
      await h.until(() => h.model.calls.length === 1);
      expect(h.model.calls[0].messages.at(-1)).toEqual({ role: 'user', content: 'alice brown' });
    });

    it('the watchdog abandons a reply whose TTS never delivers, and apologises', async () => {
      const h = harness({
        cached: [GREETING, PHRASES.apology],
        env: { PLAYOUT_WATCHDOG_MS: '3000' },
        transcripts: () => 'hello',
        reply: () => ({ text: 'Let me check that for you.' }),
      });
      h.tts.hangWhen = (text) => text === 'Let me check that for you.';
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.tts.requests.length === 1);
      const stalledSince = h.clock.now();
      await h.until(() => h.tts.requests[0].aborted, 5000);
      // Checked once a second: abandoned within a second after 3 s without progress.
      expect(h.clock.now() - stalledSince).toBeGreaterThanOrEqual(3000);
      expect(h.clock.now() - stalledSince).toBeLessThanOrEqual(4000);
      await h.until(() => h.history.some((e) => e.text === PHRASES.apology), 10_000);
      expect(h.history.some((e) => e.text.startsWith('Let me check'))).toBe(false);
    });

    it('the watchdog also recovers a model that stops streaming mid-reply', async () => {
      const h = harness({
        cached: [GREETING, PHRASES.apology],
        env: { PLAYOUT_WATCHDOG_MS: '3000' },
        transcripts: () => 'hello',
        reply: () => ({ text: 'Let me', hang: true }),
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.model.aborts === 1, 5000);
      await h.until(() => h.history.some((e) => e.text === PHRASES.apology), 10_000);
    });
  });

  describe('call actions and silence', () => {
    it('holds the agent’s hang-up until its goodbye has been played', async () => {
      const h = harness({
        cached: [GREETING],
        transcripts: () => 'that is all thanks',
        reply: (n) =>
          n === 0
            ? {
                text: 'Goodbye, have a nice day!',
                toolCalls: [{ name: 'end_call', arguments: { reason: 'done' } }],
              }
            : { text: '' },
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.audioSince(h.clock.now() - 20) > 0);
      expect(h.callControl.actions).toHaveLength(0);
      await h.until(() => h.callControl.actions.length === 1);
      expect(h.callControl.actions[0]).toMatchObject({ type: 'hangup_requested' });
      expect(h.history.filter((e) => e.role === 'agent').at(-1)).toMatchObject({
        text: 'Goodbye, have a nice day!',
      });
    });

    it('re-prompts after SILENCE_REPROMPT_SECONDS of silence, then ends the call politely', async () => {
      const h = harness({
        cached: [GREETING],
        env: { SILENCE_REPROMPT_SECONDS: '2', SILENCE_MAX_REPROMPTS: '2' },
      });
      await h.pastGreeting();
      const t0 = h.clock.now();
      await h.until(() => h.history.filter((e) => e.text === PHRASES.reprompt).length === 2, 20_000);
      await h.until(() => h.callControl.actions.length === 1, 20_000);
      expect(h.callControl.actions[0]).toMatchObject({ type: 'hangup_requested', reason: 'caller silent' });
      expect(h.history.at(-1)).toMatchObject({ text: PHRASES.silenceGoodbye });
      const reprompts = h.tts.requests.filter((r) => r.text === PHRASES.reprompt);
      expect(reprompts[0].startedAt - t0).toBe(2000);
    });

    it('a caller turn resets the re-prompt count', async () => {
      const h = harness({
        cached: [GREETING],
        env: { SILENCE_REPROMPT_SECONDS: '2', SILENCE_MAX_REPROMPTS: '1' },
        transcripts: () => 'alice brown',
      });
      await h.pastGreeting();
      await h.until(() => h.history.some((e) => e.text === PHRASES.reprompt), 10_000);
      await h.feed(1000);
      await h.feed(400, true);
      await h.until(() => h.history.some((e) => e.role === 'caller'));
      await h.until(() => h.history.filter((e) => e.text === PHRASES.reprompt).length === 2, 20_000);
      expect(h.callControl.actions).toHaveLength(0);
    });
  });

  describe('review cases', () => {
    it('a barge-in after a tool call leaves a conversation the model API accepts, and the tool on record', async () => {
      const h = harness({
        cached: [GREETING],
        transcripts: (n) => ['alice brown six oh six oh one', undefined, 'what about my claim'][n],
        tokensPerSecond: 2,
        reply: (n) =>
          n === 0
            ? {
                text: 'Let me check that.',
                toolCalls: [
                  { name: 'verify_caller', arguments: { name: 'Alice Brown', zip_or_last4: '60601' } },
                ],
              }
            : n === 1
              ? {
                  text: 'Thank you Alice. You are verified. Now here is a long list of what I can do for you today.',
                }
              : { text: 'Sure.' },
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.model.calls.length === 2);
      await h.until(() => h.audioSince(h.clock.now() - 20) > 0 && h.tts.requests.length >= 2);
      await h.feed(400);
      await h.feed(300, true);
      h.emit({ type: 'partial', text: 'what about my claim' });
      await h.feed(500, true);
      await h.until(() => h.model.calls.length === 3);
      const messages = h.model.calls[2].messages.filter((m) => m.role !== 'system');
      const roles = messages.map((m) => m.role);
      // assistant(tool calls) → tool answer → the heard part of the next message → the caller.
      const withCalls = messages.findIndex((m) => m.role === 'assistant' && m.toolCalls?.length);
      expect(roles.slice(withCalls, withCalls + 2)).toEqual(['assistant', 'tool']);
      expect(roles.at(-1)).toBe('user');
      const said = messages.filter((m) => m.role === 'assistant').map((m) => m.content);
      expect(new Set(said).size).toBe(said.length);
      expect(said.at(-1)).toMatch(/ …$/);
      expect(h.history.some((e) => e.toolCalls?.some((t) => t.name === 'verify_caller'))).toBe(true);
    });

    it('a reply cancelled during an undecided barge-in does not leave the interruption behind', async () => {
      const h = harness({
        cached: [GREETING],
        transcripts: (n) => (n === 0 ? 'hello' : undefined),
        reply: (n) => (n === 0 ? { text: 'A long answer. It goes on. And on and on.' } : { text: 'Okay.' }),
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.audioSince(h.clock.now() - 20) > 0);
      await h.feed(300, true);
      expect(h.stops()).toHaveLength(1);
      // Digits while the barge-in is still undecided: a new turn replaces the paused reply.
      for (const digit of ['1', '#']) h.cascade.onFrame({ kind: 'DtmfData', digit });
      await h.until(() => h.history.some((e) => e.text === 'Okay.'), 5000);
      expect(h.history.some((e) => e.text === PHRASES.apology)).toBe(false);
    });

    it('reaching the failure limit while the agent talks hangs up only after the goodbye', async () => {
      const h = harness({
        cached: [GREETING, PHRASES.failureGoodbye],
        env: { PROVIDER_MAX_FAILURES: '1' },
        transcripts: () => 'hello',
        reply: () => ({ text: 'A long answer. It goes on. And on and on for a while.' }),
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.audioSince(h.clock.now() - 20) > 0);
      h.stt.session.fail();
      await h.feed(200);
      expect(h.callControl.actions).toHaveLength(0);
      await h.until(() => h.callControl.actions.length === 1);
      expect(h.history.at(-1)).toMatchObject({ text: PHRASES.failureGoodbye });
      expect(h.history.at(-1)?.interrupted).toBeUndefined();
    });

    it('closes the media socket when call control cannot hang up', async () => {
      const h = harness({
        cached: [GREETING],
        callControlFails: true,
        env: { SILENCE_REPROMPT_SECONDS: '2', SILENCE_MAX_REPROMPTS: '0' },
      });
      await h.pastGreeting();
      await h.until(() => h.closes.length === 1, 15_000);
      expect(h.closes[0]).toEqual({ code: 1000, reason: 'call ended' });
    });
  });

  describe('hang-up', () => {
    it('close() stops everything: providers aborted, STT and VAD closed, no timers left', async () => {
      const h = harness({
        cached: [GREETING],
        transcripts: () => 'hello',
        tokensPerSecond: 2,
        reply: () => ({ text: 'A long answer. It is still streaming. When the caller hangs up.' }),
      });
      await h.pastGreeting();
      await h.feed(400, true);
      await h.until(() => h.audioSince(h.clock.now() - 20) > 0);
      await h.cascade.close('test hang-up');
      await h.flush();
      expect(h.model.aborts).toBe(1);
      expect(h.stt.openSessions).toBe(0);
      expect(h.vad.streams.every((s) => s.closed)).toBe(true);
      expect(h.clock.pendingTimers).toBe(0);
      const sent = h.out.length;
      await h.feed(1000);
      expect(h.out.length).toBe(sent);
    });
  });
});
