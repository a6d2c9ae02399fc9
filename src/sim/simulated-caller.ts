import WebSocket from 'ws';
import { bufferView } from '../audio/pcm';
import { base64ByteLength, encodeAudioMetadata, parseOutbound, preEncodeFrames } from './acs-media-protocol';
import {
  comfortNoise,
  DEFAULT_COMFORT_NOISE_DBFS,
  DEFAULT_SPEECH_THRESHOLD_DBFS,
  speechBounds,
  type SpeechBounds,
} from './energy';
import { FramePacer, simClock, type Tickable } from './frame-pacer';
import type { GreetingMeasurement, TurnMeasurement } from './report';

export type SimSampleRate = 16000 | 24000;

/** A caller utterance encoded once as 20 ms AudioData messages; reusable by any number of callers. */
export interface PreparedUtterance {
  sampleRate: number;
  frames: readonly string[];
  /** Speech onset / end frames by energy; undefined for an utterance that is all silence. */
  bounds?: SpeechBounds;
  audioMs: number;
}

export function prepareUtterance(
  pcm: Int16Array,
  sampleRate: number,
  thresholdDbfs = DEFAULT_SPEECH_THRESHOLD_DBFS,
): PreparedUtterance {
  return {
    sampleRate,
    frames: preEncodeFrames(bufferView(pcm), sampleRate),
    bounds: speechBounds(pcm, sampleRate, thresholdDbfs),
    audioMs: (pcm.length / sampleRate) * 1000,
  };
}

export interface ConnectOptions {
  callConnectionId: string;
  sampleRate?: SimSampleRate;
  /** Extra upgrade headers (e.g. `authorization: Bearer <ACS JWT>`). */
  headers?: Record<string, string>;
  correlationId?: string;
  connectTimeoutMs?: number;
  /** Keep the agent's audio for `agentAudio()` (off for load generation: only durations are counted). */
  recordAgentAudio?: boolean;
  comfortNoiseDbfs?: number;
  /** Shared frame pacer; the process-wide one by default. Pass `null` to drive `tick(now)` yourself. */
  pacer?: FramePacer | null;
  /** Agent audio arriving after this long without any counts as a new reply (for e2e_latency_ms). */
  replyGapMs?: number;
  /** Epoch-ms clock (tests pass a fake one); `simClock` by default. */
  clock?: () => number;
}

export interface WaitForAgentOptions {
  /** The agent counts as finished once it has been quiet (nothing left to play) this long. */
  quietMs?: number;
  /** Longest wait overall (reply included). */
  timeoutMs?: number;
}

export interface WaitResult {
  /** Agent audio arrived after the caller's last speech (or after AudioMetadata for the greeting). */
  replied: boolean;
  timedOut: boolean;
  closed: boolean;
}

export interface SpeakOptions {
  /** Start speaking this long after the agent's current reply started playing (barge-in). */
  bargeInAfterMs?: number;
  /** Longest wait for the agent's reply to start before a barge-in turn speaks anyway. */
  bargeInWaitTimeoutMs?: number;
}

interface ReceivedChunk {
  /** When ACS would start playing it (playback clock). */
  startAt: number;
  durationMs: number;
  /** Turn index it arrived in (−1: the greeting). */
  turn: number;
  pcm?: Buffer;
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

const FRAME_MS = 20;
/** A caller behind by more than this many frames (event-loop stall) skips ahead instead of bursting. */
const MAX_CATCH_UP_FRAMES = 10;
const noiseCache = new Map<string, string[]>();

/** One second of comfort-noise frames, encoded once per (rate, level) and shared by every caller. */
function comfortNoiseFrames(sampleRate: number, dbfs: number): string[] {
  const key = `${sampleRate}:${dbfs}`;
  let frames = noiseCache.get(key);
  if (!frames) {
    frames = preEncodeFrames(bufferView(comfortNoise(sampleRate, dbfs)), sampleRate);
    noiseCache.set(key, frames);
  }
  return frames;
}

/**
 * A simulated ACS call leg: opens the media WebSocket with the headers ACS sends, streams the caller's
 * audio as real-time 20 ms AudioData frames (comfort noise between utterances, as a phone line never goes
 * digitally silent), and listens to the agent like ACS does — a playback buffer played at real time,
 * emptied by StopAudio — measuring each turn's latency on the client side.
 *
 * Per frame it sends a pre-encoded string and per received frame it does a prefix parse and a few number
 * updates; it creates no timers of its own (a shared FramePacer or an external loop calls `tick`).
 */
export class SimulatedCaller implements Tickable {
  readonly turns: TurnMeasurement[] = [];
  readonly greeting: GreetingMeasurement = { agentAudioMs: 0 };
  /** Set when the socket closed: by the service, or by `close()`. */
  closed: { code: number; reason: string; byService: boolean; at: number } | undefined;
  /** Messages from the service the simulator did not understand (counted, not fatal). */
  unknownMessages = 0;
  /** Messages received from the service, by kind. */
  readonly received = { audioData: 0, stopAudio: 0 };
  lastError: Error | undefined;

  private readonly noise: string[];
  private noiseIndex = 0;
  private nextFrameAt = 0;
  private streaming = false;
  private metadataAt: number | undefined;

  private utterance: PreparedUtterance | undefined;
  private utterancePos = 0;
  private utteranceTurn: TurnMeasurement | undefined;
  private utteranceDone: (() => void) | undefined;

  /** Reply detection: agent audio after `replyAfter` (end of the caller's speech) is the reply. */
  private replyAfter = 0;
  private replyStartedAt: number | undefined;
  /** Turn whose reply is arriving (−1: the greeting); agent audio is attributed to it. */
  private replyTurn = -1;
  private lastAudioAt = -Infinity;
  private stopSinceLastAudio = false;

  /** Playback model: when ACS's buffer runs dry; chunks not yet played; what was played. */
  private playCursor = 0;
  private readonly pending: ReceivedChunk[] = [];
  private readonly played: ReceivedChunk[] = [];
  private readonly waiters = new Set<Waiter>();
  private closing: Promise<void> | undefined;
  private readonly now: () => number;

  private constructor(
    private readonly ws: WebSocket,
    readonly callConnectionId: string,
    readonly sampleRate: SimSampleRate,
    private readonly options: ConnectOptions,
    private readonly pacer: FramePacer | undefined,
  ) {
    this.now = options.clock ?? simClock;
    this.noise = comfortNoiseFrames(sampleRate, options.comfortNoiseDbfs ?? DEFAULT_COMFORT_NOISE_DBFS);
    ws.on('message', this.onMessage);
    ws.on('close', this.onClose);
    ws.on('error', (err) => (this.lastError = err));
  }

  /** Opens the media socket as ACS does; rejects with a clear reason on refusal, error or timeout. */
  static connect(url: string, options: ConnectOptions): Promise<SimulatedCaller> {
    const sampleRate = options.sampleRate ?? 16000;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const headers: Record<string, string> = {
      'x-ms-call-connection-id': options.callConnectionId,
      'x-ms-call-correlation-id': options.correlationId ?? options.callConnectionId,
      ...options.headers,
    };
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, maxPayload: 1024 * 1024 });
      } catch (err) {
        reject(new Error(`invalid media WebSocket URL ${url}: ${(err as Error).message}`));
        return;
      }
      const fail = (message: string) => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(new Error(message));
      };
      ws.once('unexpected-response', (_req, res) =>
        fail(
          `media WebSocket upgrade refused by ${url}: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
        ),
      );
      ws.once('error', (err: NodeJS.ErrnoException) =>
        fail(
          /handshake/i.test(err.message)
            ? `no WebSocket handshake from ${url} within ${timeoutMs} ms`
            : `cannot open the media WebSocket ${url}: ${err.code ?? err.message}`,
        ),
      );
      ws.once('open', () => {
        ws.removeAllListeners();
        const pacer = options.pacer === null ? undefined : (options.pacer ?? FramePacer.shared());
        resolve(new SimulatedCaller(ws, options.callConnectionId, sampleRate, options, pacer));
      });
    });
  }

  /** Sends AudioMetadata and starts the 20 ms frame stream (comfort noise until the caller speaks). */
  sendMetadata(): void {
    const now = this.now();
    this.send(encodeAudioMetadata({ sampleRate: this.sampleRate }));
    this.metadataAt = now;
    this.replyAfter = now;
    this.replyStartedAt = undefined;
    this.nextFrameAt = now + FRAME_MS;
    this.streaming = true;
    this.pacer?.add(this);
  }

  /** Sends any text or binary message as is (for robustness tests: malformed frames). */
  sendRaw(data: string | Buffer): void {
    this.send(data);
  }

  /** Sends the frames due by `now`: the current utterance, else comfort noise. Driven by the pacer. */
  tick(now: number): void {
    if (this.streaming && this.ws.readyState === WebSocket.OPEN) {
      if (now - this.nextFrameAt > MAX_CATCH_UP_FRAMES * FRAME_MS) this.nextFrameAt = now - FRAME_MS;
      while (this.nextFrameAt <= now) {
        this.sendFrame(this.nextFrameAt);
        this.nextFrameAt += FRAME_MS;
      }
    }
    if (this.waiters.size > 0) this.checkWaiters();
  }

  /**
   * Speaks one utterance at real time and resolves when its last frame is sent, with the turn's
   * measurement (its reply latency fills in later: see `waitForAgent`). With `bargeInAfterMs` it first
   * waits for the agent's reply to start playing, then starts speaking that long after.
   */
  async speak(
    utterance: PreparedUtterance | Int16Array,
    options: SpeakOptions = {},
  ): Promise<TurnMeasurement> {
    if (this.closed)
      throw new Error(`the media socket is closed (${this.closed.code} ${this.closed.reason})`);
    if (!this.streaming) throw new Error('sendMetadata() first: ACS sends AudioMetadata before any audio');
    if (this.utterance) throw new Error('the caller is already speaking');
    const prepared =
      utterance instanceof Int16Array ? prepareUtterance(utterance, this.sampleRate) : utterance;
    if (prepared.sampleRate !== this.sampleRate)
      throw new Error(`utterance is ${prepared.sampleRate} Hz, the call is ${this.sampleRate} Hz`);
    if (options.bargeInAfterMs !== undefined) {
      await this.until(
        () => this.replyStartedAt !== undefined || this.closed !== undefined,
        options.bargeInWaitTimeoutMs ?? 30_000,
      );
      if (this.replyStartedAt !== undefined) {
        const at = this.replyStartedAt + options.bargeInAfterMs;
        await this.until(() => this.now() >= at || this.closed !== undefined, options.bargeInAfterMs + 1000);
      }
    }
    const turn: TurnMeasurement = {
      index: this.turns.length,
      startedAt: Math.max(this.now(), this.nextFrameAt),
      audioMs: prepared.audioMs,
      interrupted: false,
      agentPlayingAtOnset: false,
      agentAudioMs: 0,
    };
    this.turns.push(turn);
    if (this.closed) return turn;
    await new Promise<void>((resolve) => {
      this.utterance = prepared;
      this.utterancePos = 0;
      this.utteranceTurn = turn;
      this.utteranceDone = resolve;
    });
    return turn;
  }

  /** Keeps the line open with comfort noise for `ms` (the frames flow anyway; this only waits). */
  async comfortNoise(ms: number): Promise<void> {
    const until = this.now() + ms;
    await this.until(() => this.now() >= until || this.closed !== undefined, ms + 1000);
  }

  /**
   * Waits until the agent has answered (audio after the caller's last speech, or after AudioMetadata for
   * the greeting) and then been quiet for `quietMs` with nothing left in the playback buffer; or until
   * `timeoutMs`, or the socket closes. Never rejects: the result says which happened.
   */
  async waitForAgent(options: WaitForAgentOptions = {}): Promise<WaitResult> {
    const quietMs = options.quietMs ?? 1000;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const done = () => {
      if (this.closed) return true;
      if (this.replyStartedAt === undefined) return false;
      const now = this.now();
      return now - Math.max(this.playCursor, this.lastAudioAt) >= quietMs;
    };
    const met = await this.until(done, timeoutMs);
    return { replied: this.replyStartedAt !== undefined, timedOut: !met, closed: this.closed !== undefined };
  }

  /** True while agent audio is queued in the modelled ACS playback buffer. */
  agentPlaying(now = this.now()): boolean {
    return this.playCursor > now;
  }

  /**
   * What the caller heard: every played agent chunk, in order, StopAudio honoured (audio still queued
   * when it arrived is dropped, a chunk playing at that moment is cut where playback was). With
   * `timeline`, gaps between chunks are kept as silence (from the first agent audio on).
   * Needs `recordAgentAudio` (the default).
   */
  agentAudio(options: { timeline?: boolean } = {}): Buffer {
    this.settle(this.now());
    const chunks = [...this.played, ...this.pending.filter((c) => c.startAt < this.now())];
    if (!options.timeline) return Buffer.concat(chunks.flatMap((c) => (c.pcm ? [c.pcm] : [])));
    const parts: Buffer[] = [];
    let cursor = chunks[0]?.startAt ?? 0;
    for (const c of chunks) {
      if (!c.pcm) continue;
      const gapSamples = Math.round(((c.startAt - cursor) * this.sampleRate) / 1000);
      if (gapSamples > 0) parts.push(Buffer.alloc(gapSamples * 2));
      parts.push(c.pcm);
      cursor = Math.max(cursor, c.startAt) + c.durationMs;
    }
    return Buffer.concat(parts);
  }

  /** Closes the call from the caller's side (the socket close ACS sends when the call ends). */
  close(code = 1000, reason = 'caller hung up', timeoutMs = 2000): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.stopStreaming();
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, timeoutMs);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.closed) this.closed = { code, reason, byService: false, at: this.now() };
      this.ws.close(code, reason);
    });
    return this.closing;
  }

  private send(data: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  private sendFrame(at: number): void {
    const u = this.utterance;
    if (!u) {
      this.send(this.noise[this.noiseIndex]);
      this.noiseIndex = (this.noiseIndex + 1) % this.noise.length;
      return;
    }
    const turn = this.utteranceTurn!;
    const pos = this.utterancePos++;
    this.send(u.frames[pos]);
    if (u.bounds) {
      if (pos === u.bounds.onsetFrame) {
        turn.speechOnsetAt = at;
        turn.agentPlayingAtOnset = this.agentPlaying(at);
      }
      if (pos === u.bounds.endFrame) {
        turn.speechEndAt = at;
        this.replyAfter = at;
        this.replyStartedAt = undefined;
      }
    }
    if (this.utterancePos >= u.frames.length) {
      turn.endedAt = at;
      if (!u.bounds) {
        // All silence: whatever the agent says next counts from the end of the utterance.
        this.replyAfter = at;
        this.replyStartedAt = undefined;
      }
      const done = this.utteranceDone!;
      this.utterance = undefined;
      this.utteranceTurn = undefined;
      this.utteranceDone = undefined;
      done();
    }
  }

  private readonly onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (isBinary) {
      this.unknownMessages++;
      return;
    }
    const now = this.now();
    const msg = parseOutbound(data.toString());
    if (msg.kind === 'AudioData') {
      this.received.audioData++;
      this.onAgentAudio(msg.base64, now);
    } else if (msg.kind === 'StopAudio') {
      this.received.stopAudio++;
      this.onStopAudio(now);
    } else this.unknownMessages++;
    if (this.waiters.size > 0) this.checkWaiters();
  };

  private onAgentAudio(base64: string, now: number): void {
    const bytes = base64ByteLength(base64);
    const durationMs = (bytes / 2 / this.sampleRate) * 1000;
    const turnIndex = this.turns.length - 1;
    const turn = this.turns.at(-1);
    const newReply = now - this.lastAudioAt >= (this.options.replyGapMs ?? 200) || this.stopSinceLastAudio;
    if (this.replyStartedAt === undefined && now >= this.replyAfter && newReply) {
      this.replyStartedAt = now;
      this.replyTurn = turnIndex;
      if (!turn) {
        if (this.greeting.firstAudioMs === undefined && this.metadataAt !== undefined)
          this.greeting.firstAudioMs = now - this.metadataAt;
      } else if (turn.speechEndAt !== undefined && turn.e2eLatencyMs === undefined) {
        turn.e2eLatencyMs = now - turn.speechEndAt;
      }
    }
    this.lastAudioAt = now;
    this.stopSinceLastAudio = false;
    const startAt = Math.max(now, this.playCursor);
    this.playCursor = startAt + durationMs;
    this.pending.push({
      startAt,
      durationMs,
      turn: this.replyTurn,
      pcm: this.options.recordAgentAudio === false ? undefined : Buffer.from(base64, 'base64'),
    });
    if (this.pending.length > 64) this.settle(now);
  }

  private onStopAudio(now: number): void {
    this.settle(now);
    const turn = this.turns.at(-1);
    if (turn) {
      turn.interrupted = true;
      if (turn.speechOnsetAt !== undefined && turn.bargeInMs === undefined)
        turn.bargeInMs = now - turn.speechOnsetAt;
    }
    // ACS drops what it has queued but not played; the chunk playing now is cut where playback is.
    for (const c of this.pending) {
      if (c.startAt >= now) continue;
      const playedMs = now - c.startAt;
      const keptBytes = Math.floor((playedMs * this.sampleRate) / 1000) * 2;
      this.record({ ...c, durationMs: playedMs, pcm: c.pcm?.subarray(0, Math.min(c.pcm.length, keptBytes)) });
    }
    this.pending.length = 0;
    this.playCursor = now;
    this.stopSinceLastAudio = true;
  }

  /** Moves chunks that have fully played by `now` out of the playback buffer. */
  private settle(now: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n].startAt + this.pending[n].durationMs <= now)
      this.record(this.pending[n++]);
    if (n > 0) this.pending.splice(0, n);
  }

  private record(chunk: ReceivedChunk): void {
    if (chunk.turn < 0) this.greeting.agentAudioMs += chunk.durationMs;
    else this.turns[chunk.turn].agentAudioMs += chunk.durationMs;
    if (chunk.pcm) this.played.push(chunk);
  }

  private readonly onClose = (code: number, reason: Buffer): void => {
    const now = this.now();
    // What was queued when the call ended is counted up to the hang-up.
    this.settle(now);
    for (const c of this.pending) if (c.startAt < now) this.record({ ...c, durationMs: now - c.startAt });
    this.pending.length = 0;
    this.playCursor = Math.min(this.playCursor, now);
    if (!this.closed) this.closed = { code, reason: reason.toString(), byService: true, at: now };
    this.stopStreaming();
    this.checkWaiters();
  };

  private stopStreaming(): void {
    this.streaming = false;
    this.pacer?.remove(this);
    if (this.utteranceDone) {
      const done = this.utteranceDone;
      if (this.utteranceTurn) this.utteranceTurn.endedAt = this.now();
      this.utterance = undefined;
      this.utteranceTurn = undefined;
      this.utteranceDone = undefined;
      done();
    }
  }

  private checkWaiters(): void {
    for (const w of this.waiters) if (w.check()) w.resolve();
  }

  /**
   * Resolves true when `check` holds (evaluated on every tick and received message), false after
   * `timeoutMs`. One timer per wait, none per frame.
   */
  private until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
