import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { bufferView } from '../../src/audio/pcm';
import {
  base64ByteLength,
  comfortNoise,
  encodeAudioMetadata,
  FramePacer,
  parseOutbound,
  peekOutbound,
  PEEK_OTHER,
  PEEK_STOP_AUDIO,
  preEncodeFrames,
  prepareUtterance,
  simClock,
  type PreparedUtterance,
  type Tickable,
} from '../../src/sim';
import type { VoiceActivityDetector } from '../../src/speech/ports';
import { SileroVad } from '../../src/speech/vad/silero-vad';
import { WebRtcVad } from '../../src/speech/vad/webrtc-vad';
import { speak } from '../../test/support/audio';
import { GcPauses } from './gc-pauses';
import { serveIpc } from './ipc';
import { Histogram, OutboundJitter, replyWait, seededRandom } from './load-math';

/**
 * The load generator: N simulated ACS calls in one process, all driven by one shared 5 ms FramePacer
 * tick (src/sim), each a conversation loop:
 *
 *   AudioMetadata → listen to the greeting → repeat {
 *     pause 0.3–0.9 s → speak a 1.5–2.5 s utterance (flite speech, pre-encoded once) → wait for the reply
 *     to play out (quiet 600 ms) — or, with probability `bargeInProbability`, start the next utterance
 *     `bargeInAfterMs` after the reply's first frame (a barge-in)
 *   }
 *
 * It uses src/sim's protocol helpers (pre-encoded AudioData strings, the prefix parser for what the
 * service sends, comfort noise, energy-based speech bounds) and its measurement rules: e2e_latency_ms is
 * last speech frame sent → first frame of the reply received; bargein_ms is barge-in speech onset frame
 * sent → StopAudio received. Outbound jitter and late frames: see OutboundJitter (load-math.ts).
 *
 * It runs as a child process of a scenario (`serveIpc`), pinned to its own CPU.
 */

const FRAME_MS = 20;
const MAX_CATCH_UP_FRAMES = 10;
/** Pre-encoded JSON bytes go out as text frames, as ACS sends them. */
const TEXT = { binary: false } as const;
const toBuffers = (data: ArrayBuffer | Buffer[]): Buffer[] =>
  Array.isArray(data) ? data : [Buffer.from(data)];

export interface LoadOptions {
  /** ws://127.0.0.1:port/api/v1/media/stream */
  url: string;
  sampleRate?: 16000 | 24000;
  /** PLAYOUT_LEAD_MS of the service (for the jitter schedule). */
  leadMs?: number;
  bargeInProbability?: number;
  bargeInAfterMs?: number;
  /** Reply considered finished after this much quiet with nothing left to play. */
  quietMs?: number;
  replyTimeoutMs?: number;
  seed?: number;
  /** Utterance texts rendered with flite; those between 1.5 and 2.5 s are used. */
  texts?: string[];
}

const DEFAULT_TEXTS = [
  'I would like to report a claim please',
  'my car was hit in a parking lot yesterday',
  'the policy number is four five six',
  'yes that is right thank you',
  'can you tell me what happens next',
  'I was not hurt but the door is damaged',
];

/** Shared measurement sink of one generator (reset per capacity step). */
class Sink {
  readonly jitter = new Histogram(2000, 0.1);
  e2e: number[] = [];
  bargein: number[] = [];
  framesReceived = 0;
  stopAudio = 0;
  turnsStarted = 0;
  bargeInsStarted = 0;
  repliesHeard = 0;
  replyTimeouts = 0;
  closedByService = 0;
  lateFromClosed = 0;
  reset(): void {
    this.jitter.reset();
    this.e2e = [];
    this.bargein = [];
    this.framesReceived = 0;
    this.stopAudio = 0;
    this.turnsStarted = 0;
    this.bargeInsStarted = 0;
    this.repliesHeard = 0;
    this.replyTimeouts = 0;
    this.closedByService = 0;
    this.lateFromClosed = 0;
  }
}

interface Shared {
  options: Required<Omit<LoadOptions, 'texts' | 'seed'>>;
  utterances: PreparedUtterance[];
  /** Each utterance's pre-encoded frames as bytes (sent as text frames: no per-send UTF-8 encoding). */
  utteranceFrames: Map<PreparedUtterance, Buffer[]>;
  noise: Buffer[];
  sink: Sink;
  random: () => number;
}

type CallState = 'greeting' | 'pause' | 'speaking' | 'reply' | 'done';

/** One simulated call: a state machine advanced by the shared tick and by the socket's messages. */
export class LoadCall implements Tickable {
  readonly jitter: OutboundJitter;
  state: CallState = 'greeting';
  turnsDone = 0;
  lateBase = 0;
  private nextFrameAt = 0;
  private noiseIndex = 0;
  private utterance: PreparedUtterance | undefined;
  private frames: Buffer[] = [];
  private pos = 0;
  private barge = false;
  private bargePlanned = false;
  private speechOnsetAt: number | undefined;
  private speechEndAt: number | undefined;
  private e2eDone = false;
  private bargeDone = false;
  private replyAfter = 0;
  private replyStartedAt: number | undefined;
  private lastAudioAt = -Infinity;
  private stopSinceLastAudio = false;
  private deadline = 0;
  private speakAt = 0;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    private readonly ws: WebSocket,
    private readonly shared: Shared,
    private readonly pacer: FramePacer,
    /** Hang up after this many caller turns (soak); Infinity keeps talking. */
    private readonly turnLimit: number,
  ) {
    this.jitter = new OutboundJitter(shared.sink.jitter, { leadMs: shared.options.leadMs });
    this.done = new Promise((r) => (this.resolveDone = r));
    ws.on('message', this.onMessage);
    ws.on('close', () => {
      if (this.state !== 'done') shared.sink.closedByService++;
      this.finish();
    });
    ws.on('error', () => undefined);
  }

  start(): void {
    const now = simClock();
    this.ws.send(encodeAudioMetadata({ sampleRate: this.shared.options.sampleRate }));
    this.replyAfter = now;
    this.nextFrameAt = now + FRAME_MS;
    this.state = 'greeting';
    this.deadline = now + this.shared.options.replyTimeoutMs;
    this.bargePlanned = this.shared.random() < this.shared.options.bargeInProbability;
    this.pacer.add(this);
  }

  get finished(): Promise<void> {
    return this.done;
  }

  hangUp(): Promise<void> {
    this.state = 'done';
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'caller hung up');
    else if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    return this.done.finally(() => clearTimeout(timer));
  }

  tick(now: number): void {
    if (this.state === 'done' || this.ws.readyState !== WebSocket.OPEN) return;
    if (now - this.nextFrameAt > MAX_CATCH_UP_FRAMES * FRAME_MS) this.nextFrameAt = now - FRAME_MS;
    while (this.nextFrameAt <= now) {
      this.sendFrame(this.nextFrameAt);
      this.nextFrameAt += FRAME_MS;
    }
    this.advance(now);
  }

  private advance(now: number): void {
    const { options, sink } = this.shared;
    if (this.state === 'pause') {
      if (now >= this.speakAt) this.startUtterance(false);
      return;
    }
    if (this.state !== 'greeting' && this.state !== 'reply') return;
    if (this.bargePlanned && this.replyStartedAt !== undefined) {
      if (now >= this.replyStartedAt + options.bargeInAfterMs) this.startUtterance(true);
      return;
    }
    const replyStarted = this.replyStartedAt !== undefined;
    const outcome = replyWait({
      now,
      deadline: this.deadline,
      replyStarted,
      quiet: replyStarted && now - Math.max(this.jitter.playbackEnd, this.lastAudioAt) >= options.quietMs,
    });
    if (outcome === 'wait') return;
    if (outcome === 'heard') sink.repliesHeard++;
    else sink.replyTimeouts++;
    if (this.turnsDone >= this.turnLimit) {
      void this.hangUp();
      return;
    }
    this.state = 'pause';
    this.speakAt = now + 300 + this.shared.random() * 600;
  }

  private startUtterance(barge: boolean): void {
    const { utterances, random, sink } = this.shared;
    this.utterance = utterances[Math.floor(random() * utterances.length)];
    this.frames = this.shared.utteranceFrames.get(this.utterance)!;
    this.pos = 0;
    this.barge = barge;
    this.bargePlanned = false;
    this.speechOnsetAt = undefined;
    this.speechEndAt = undefined;
    this.e2eDone = false;
    this.bargeDone = false;
    this.state = 'speaking';
    sink.turnsStarted++;
    if (barge) sink.bargeInsStarted++;
  }

  private sendFrame(at: number): void {
    const u = this.utterance;
    if (!u) {
      this.ws.send(this.shared.noise[this.noiseIndex], TEXT);
      this.noiseIndex = (this.noiseIndex + 1) % this.shared.noise.length;
      return;
    }
    const pos = this.pos++;
    this.ws.send(this.frames[pos], TEXT);
    if (u.bounds) {
      if (pos === u.bounds.onsetFrame) this.speechOnsetAt = at;
      if (pos === u.bounds.endFrame) {
        this.speechEndAt = at;
        this.replyAfter = at;
        this.replyStartedAt = undefined;
      }
    }
    if (this.pos >= this.frames.length) {
      this.utterance = undefined;
      this.turnsDone++;
      this.state = 'reply';
      this.deadline = at + this.shared.options.replyTimeoutMs;
      this.bargePlanned =
        this.turnsDone < this.turnLimit && this.shared.random() < this.shared.options.bargeInProbability;
    }
  }

  private readonly onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (isBinary) return;
    const now = simClock();
    // The service's own shapes are read from the bytes (no string, no JSON); anything else is parsed.
    let audioBytes = Buffer.isBuffer(data) ? peekOutbound(data) : PEEK_OTHER;
    if (audioBytes === PEEK_OTHER) {
      const msg = parseOutbound(
        Buffer.isBuffer(data) ? data.toString() : Buffer.concat(toBuffers(data)).toString(),
      );
      if (msg.kind === 'AudioData') audioBytes = base64ByteLength(msg.base64);
      else if (msg.kind === 'StopAudio') audioBytes = PEEK_STOP_AUDIO;
      else return;
    }
    const sink = this.shared.sink;
    if (audioBytes >= 0) {
      sink.framesReceived++;
      const durationMs = (audioBytes / 2 / this.shared.options.sampleRate) * 1000;
      const newReply = now - this.lastAudioAt >= 200 || this.stopSinceLastAudio;
      if (this.replyStartedAt === undefined && now >= this.replyAfter && newReply) {
        this.replyStartedAt = now;
        if (this.speechEndAt !== undefined && !this.e2eDone) {
          this.e2eDone = true;
          sink.e2e.push(now - this.speechEndAt);
        }
      }
      this.lastAudioAt = now;
      this.stopSinceLastAudio = false;
      this.jitter.onFrame(now, durationMs);
    } else if (audioBytes === PEEK_STOP_AUDIO) {
      sink.stopAudio++;
      this.jitter.onStop();
      this.stopSinceLastAudio = true;
      if (this.barge && this.speechOnsetAt !== undefined && !this.bargeDone) {
        this.bargeDone = true;
        sink.bargein.push(now - this.speechOnsetAt);
      }
    }
  };

  private finish(): void {
    if (this.state !== 'done') this.state = 'done';
    this.pacer.remove(this);
    this.resolveDone();
  }
}

export interface ClientStats {
  elapsed_ms: number;
  calls_active: number;
  frames_received: number;
  late_frames: number;
  jitter_ms: { p50: number; p99: number; max: number; samples: number };
  e2e_latency_ms: number[];
  bargein_ms: number[];
  turns_started: number;
  bargeins_started: number;
  stop_audio: number;
  replies_heard: number;
  reply_timeouts: number;
  closed_by_service: number;
  generator: {
    lag_p99_ms: number;
    lag_max_ms: number;
    cpu_ms: number;
    gc_pauses: ReturnType<GcPauses['snapshot']>;
  };
}

export interface PrepareResult {
  utterances: Array<{ audio_ms: number; speech_frames: number }>;
  /** Share of each utterance's speech frames (by energy) that the real VADs classify as speech. */
  vad_speech_share: { silero: number; webrtc: number };
}

/** Renders the caller's utterances once and checks that both real VADs hear them as speech. */
export async function prepareUtterances(
  sampleRate: 16000 | 24000,
  texts = DEFAULT_TEXTS,
): Promise<{ utterances: PreparedUtterance[]; report: PrepareResult }> {
  const utterances: PreparedUtterance[] = [];
  const pcm: Int16Array[] = [];
  for (const text of texts) {
    const samples = await speak(text, sampleRate);
    const ms = (samples.length / sampleRate) * 1000;
    if (ms < 1500 || ms > 2500) continue;
    utterances.push(prepareUtterance(samples, sampleRate));
    pcm.push(samples);
  }
  if (utterances.length === 0) throw new Error('no utterance between 1.5 and 2.5 s was rendered (flite)');
  const share = async (vad: VoiceActivityDetector) => {
    let speech = 0;
    let total = 0;
    const frame = sampleRate / 50;
    for (let u = 0; u < pcm.length; u++) {
      const stream = await vad.createStream(sampleRate);
      const b = utterances[u].bounds!;
      for (let f = 0; (f + 1) * frame <= pcm[u].length; f++) {
        const r = stream.process(pcm[u].subarray(f * frame, (f + 1) * frame));
        if (f >= b.onsetFrame && f <= b.endFrame) {
          total++;
          if (r.probability >= 0.5) speech++;
        }
      }
      stream.close();
    }
    return total === 0 ? 0 : speech / total;
  };
  const silero = new SileroVad(undefined, { thread: 'main' });
  silero.init();
  const webrtc = new WebRtcVad();
  await webrtc.init();
  const report: PrepareResult = {
    utterances: utterances.map((u) => ({
      audio_ms: Math.round(u.audioMs),
      speech_frames: u.bounds ? u.bounds.endFrame - u.bounds.onsetFrame + 1 : 0,
    })),
    vad_speech_share: { silero: await share(silero), webrtc: await share(webrtc) },
  };
  await silero.dispose();
  return { utterances, report };
}

/** Opens a media socket as ACS does (same headers as src/sim's SimulatedCaller). */
function connect(url: string, callConnectionId: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { 'x-ms-call-connection-id': callConnectionId, 'x-ms-call-correlation-id': callConnectionId },
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
    });
    const fail = (message: string) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(new Error(message));
    };
    ws.once('unexpected-response', (_req, res) => fail(`upgrade refused: HTTP ${res.statusCode}`));
    ws.once('error', (err) => fail(err.message));
    ws.once('open', () => {
      ws.removeAllListeners();
      resolve(ws);
    });
  });
}

export class LoadGenerator {
  private readonly sink = new Sink();
  private readonly pacer = new FramePacer(5);
  private readonly calls = new Set<LoadCall>();
  private seq = 0;
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly gc = new GcPauses();
  private since = simClock();
  private cpu = process.cpuUsage();
  private readonly shared: Shared;
  connectFailures: string[] = [];

  constructor(options: LoadOptions, utterances: PreparedUtterance[]) {
    const sampleRate = options.sampleRate ?? 16000;
    this.shared = {
      options: {
        url: options.url,
        sampleRate,
        leadMs: options.leadMs ?? 100,
        bargeInProbability: options.bargeInProbability ?? 0.3,
        bargeInAfterMs: options.bargeInAfterMs ?? 500,
        quietMs: options.quietMs ?? 600,
        replyTimeoutMs: options.replyTimeoutMs ?? 10_000,
      },
      utterances,
      utteranceFrames: new Map(utterances.map((u) => [u, u.frames.map((f) => Buffer.from(f))])),
      noise: preEncodeFrames(bufferView(comfortNoise(sampleRate)), sampleRate).map((f) => Buffer.from(f)),
      sink: this.sink,
      random: seededRandom(options.seed ?? 7),
    };
    this.lag.enable();
  }

  get active(): number {
    return this.calls.size;
  }

  /** Opens calls until `n` are running, spread over `rampMs`; they keep talking until hung up. */
  async ensureCalls(
    n: number,
    rampMs: number,
    turnLimit = Infinity,
  ): Promise<{ opened: number; failed: number }> {
    const missing = Math.max(0, n - this.calls.size);
    const opened = await this.open(missing, rampMs, turnLimit);
    return { opened: opened.length, failed: missing - opened.length };
  }

  /** A wave of short calls: `n` calls of `turns` caller turns each, resolved when all have hung up. */
  async wave(
    n: number,
    turns: number,
    rampMs: number,
    timeoutMs: number,
  ): Promise<{ completed: number; failed: number; timed_out: number }> {
    const calls = await this.open(n, rampMs, turns);
    let timedOut = 0;
    const deadline = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.all(calls.map((c) => c.finished)), deadline]);
    for (const c of calls) {
      if (c.state !== 'done') {
        timedOut++;
        await c.hangUp();
      }
    }
    return { completed: calls.length - timedOut, failed: n - calls.length, timed_out: timedOut };
  }

  reset(): void {
    this.sink.reset();
    for (const c of this.calls) c.lateBase = c.jitter.lateFrames;
    this.lag.reset();
    this.gc.reset();
    this.since = simClock();
    this.cpu = process.cpuUsage();
  }

  collect(): ClientStats {
    const s = this.sink;
    let late = s.lateFromClosed;
    for (const c of this.calls) late += c.jitter.lateFrames - c.lateBase;
    const cpu = process.cpuUsage(this.cpu);
    return {
      elapsed_ms: simClock() - this.since,
      calls_active: this.calls.size,
      frames_received: s.framesReceived,
      late_frames: late,
      jitter_ms: {
        p50: s.jitter.percentile(50),
        p99: s.jitter.percentile(99),
        max: s.jitter.max,
        samples: s.jitter.count,
      },
      e2e_latency_ms: s.e2e,
      bargein_ms: s.bargein,
      turns_started: s.turnsStarted,
      bargeins_started: s.bargeInsStarted,
      stop_audio: s.stopAudio,
      replies_heard: s.repliesHeard,
      reply_timeouts: s.replyTimeouts,
      closed_by_service: s.closedByService,
      generator: {
        // Samples are whole 10 ms timer intervals: lag is what exceeds the interval.
        lag_p99_ms: Math.max(0, this.lag.percentile(99) / 1e6 - 10),
        lag_max_ms: Math.max(0, this.lag.max / 1e6 - 10),
        cpu_ms: (cpu.user + cpu.system) / 1000,
        gc_pauses: this.gc.snapshot(),
      },
    };
  }

  async hangUpAll(): Promise<void> {
    await Promise.all([...this.calls].map((c) => c.hangUp()));
  }

  close(): Promise<void> {
    this.lag.disable();
    this.gc.stop();
    return this.hangUpAll();
  }

  private async open(n: number, rampMs: number, turnLimit: number): Promise<LoadCall[]> {
    const out: LoadCall[] = [];
    const gap = n > 1 ? rampMs / n : 0;
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const id = `bench-${process.pid}-${++this.seq}`;
      tasks.push(
        new Promise<void>((r) => setTimeout(r, i * gap)).then(async () => {
          try {
            const ws = await connect(this.shared.options.url, id, 10_000);
            const call = new LoadCall(ws, this.shared, this.pacer, turnLimit);
            this.calls.add(call);
            void call.finished.then(() => {
              this.sink.lateFromClosed += call.jitter.lateFrames - call.lateBase;
              this.calls.delete(call);
            });
            call.start();
            out.push(call);
          } catch (err) {
            if (this.connectFailures.length < 20) this.connectFailures.push((err as Error).message);
          }
        }),
      );
    }
    await Promise.all(tasks);
    return out;
  }
}

/** Child-process entry: a scenario drives the generator over IPC (see bench/lib/ipc.ts). */
async function main(): Promise<void> {
  let generator: LoadGenerator | undefined;
  const need = () => {
    if (!generator) throw new Error('init first');
    return generator;
  };
  serveIpc(
    {
      init: async (args) => {
        const options = args as LoadOptions;
        const { utterances, report } = await prepareUtterances(options.sampleRate ?? 16000, options.texts);
        generator = new LoadGenerator(options, utterances);
        return report;
      },
      calls: (args) => {
        const a = args as { n: number; rampMs: number; turnLimit?: number };
        return need().ensureCalls(a.n, a.rampMs, a.turnLimit ?? Infinity);
      },
      wave: (args) => {
        const a = args as { n: number; turns: number; rampMs: number; timeoutMs: number };
        return need().wave(a.n, a.turns, a.rampMs, a.timeoutMs);
      },
      reset: () => {
        need().reset();
        return true;
      },
      collect: () => ({ ...need().collect(), connect_failures: need().connectFailures.slice(0, 5) }),
      hangup: async () => {
        await need().hangUpAll();
        return true;
      },
    },
    async () => {
      await generator?.close();
    },
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `load generator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
