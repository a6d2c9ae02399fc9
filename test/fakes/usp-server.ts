import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/**
 * A local Azure Speech "USP" WebSocket fake, accurate enough for the real Speech SDK: text frames are
 * `headers\r\n\r\nbody`, binary frames `[uint16 BE header length][headers][payload]`, and every answer
 * echoes the X-RequestId of the client's current request (the SDK drops anything else).
 */

export interface UspPhrase {
  /** Partial texts sent as speech.hypothesis before the final. */
  partials?: string[];
  /** Final text; without it the fake goes quiet after the partials (a stalled service). */
  text?: string;
  /** 100 ns ticks, as the service sends them. */
  offset: number;
  duration: number;
  confidence?: number;
}

/**
 * How the fake answers the first audio. `holdTurn`: never answer the end of audio with turn.end (a
 * service that hangs on stop); `status`: one speech.phrase with that RecognitionStatus (e.g. Error);
 * `silent`: accept everything, answer nothing; `close`: close the socket with `closeCode`.
 */
/**
 * Load-test recognition: every utterance in the audio (mean |sample| above `threshold` per message,
 * ended by `endSilenceMs` of quieter audio) is answered with partials while it lasts and `text` as its
 * final, `finalDelayMs` after its end — any number of utterances per connection, like the real service.
 */
export interface EnergyStt {
  kind: 'energy';
  text: string;
  threshold?: number;
  endSilenceMs?: number;
  finalDelayMs?: number;
  partialEveryMs?: number;
}

export type SttBehaviour =
  | { kind: 'phrases'; phrases: UspPhrase[]; holdTurn?: boolean }
  | EnergyStt
  | { kind: 'status'; status: string }
  | { kind: 'silent' }
  | { kind: 'close'; closeCode: number; reason: string };

/**
 * Load-test synthesis: silence as long as the SSML's text spoken at `msPerChar`, the first `chunkMs` of
 * it after `firstChunkMs`, the rest `speed` times faster than real time.
 */
export interface SynthTts {
  kind: 'synth';
  firstChunkMs: number;
  msPerChar: number;
  chunkMs: number;
  speed: number;
}

export type TtsBehaviour =
  | { kind: 'audio'; chunks: Buffer[]; chunkDelayMs?: number; stallAfter?: number }
  | SynthTts
  | { kind: 'silent' }
  | { kind: 'close'; closeCode: number; reason: string };

export interface UspMessage {
  path: string;
  headers: Record<string, string>;
  text?: string;
  binary?: Buffer;
}

export interface UspConnection {
  url: string;
  headers: IncomingHttpHeaders;
  messages: UspMessage[];
  closed: boolean;
}

export class UspFake {
  stt: SttBehaviour = { kind: 'silent' };
  tts: TtsBehaviour = { kind: 'silent' };
  /** STT answers start once this much PCM has arrived. */
  afterAudioBytes = 1;
  /** Refuse WebSocket upgrades with this HTTP status (a wrong key gets 401 from Azure). */
  rejectStatus: number | undefined;
  /** Keep every message and every connection (tests); a load run turns it off to bound memory. */
  record = true;
  /** Connections open now. */
  openConnections = 0;
  readonly connections: UspConnection[] = [];
  private server: WebSocketServer | undefined;
  private readonly sockets = new Set<WebSocket>();

  async start(): Promise<this> {
    this.server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: ({ req }, done) => {
        if (!this.rejectStatus) return done(true);
        this.connections.push({ url: req.url ?? '', headers: req.headers, messages: [], closed: true });
        done(false, this.rejectStatus);
      },
    });
    await new Promise<void>((resolve) => this.server!.once('listening', resolve));
    this.server.on('connection', (ws, req) => this.accept(ws, req.url ?? '', req.headers));
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(ws: WebSocket, url: string, headers: IncomingHttpHeaders): void {
    const conn: UspConnection = { url, headers, messages: [], closed: false };
    if (this.record) this.connections.push(conn);
    this.sockets.add(ws);
    this.openConnections++;
    const isTts = url.startsWith('/tts/');
    let audioBytes = 0;
    let answered = false;
    let energy: EnergyTracker | undefined;
    let rate = 16000;
    ws.on('close', () => {
      conn.closed = true;
      this.sockets.delete(ws);
      this.openConnections--;
      energy?.close();
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const msg = parse(data as Buffer, isBinary);
      if (this.record) conn.messages.push(msg);
      const requestId = msg.headers['x-requestid'] ?? '';
      if (isTts && msg.path === 'synthesis.context' && msg.text?.includes('24khz')) rate = 24000;
      if (isTts && msg.path === 'ssml') void this.answerTts(ws, requestId, msg.text ?? '', rate);
      if (isTts || msg.path !== 'audio') return;
      const payload = msg.binary?.length ?? 0;
      // The first audio message of a request is the RIFF header; an empty one ends the audio.
      if (msg.headers['content-type'] === 'audio/x-wav') return;
      const stt = this.stt;
      if (stt.kind === 'energy') {
        if (payload === 0) return;
        if (!energy) {
          energy = new EnergyTracker(stt, (path, body) => send(ws, path, requestId, body));
          send(ws, 'turn.start', requestId, { context: { serviceTag: 'fake' } });
        }
        energy.audio(msg.binary!);
        return;
      }
      if (payload === 0) {
        if (answered && !(stt.kind === 'phrases' && stt.holdTurn)) send(ws, 'turn.end', requestId, {});
        return;
      }
      audioBytes += payload;
      if (answered || stt.kind === 'silent' || audioBytes < this.afterAudioBytes) return;
      answered = true;
      if (stt.kind === 'close') ws.close(stt.closeCode, stt.reason);
      else this.answerStt(ws, requestId, stt);
    });
  }

  private answerStt(
    ws: WebSocket,
    requestId: string,
    stt: Extract<SttBehaviour, { kind: 'phrases' | 'status' }>,
  ) {
    send(ws, 'turn.start', requestId, { context: { serviceTag: 'fake' } });
    if (stt.kind === 'status') {
      send(ws, 'speech.phrase', requestId, { RecognitionStatus: stt.status, Offset: 0, Duration: 0 });
      return;
    }
    for (const p of stt.phrases) {
      send(ws, 'speech.startDetected', requestId, { Offset: p.offset });
      for (const partial of p.partials ?? []) {
        send(ws, 'speech.hypothesis', requestId, { Text: partial, Offset: p.offset, Duration: p.duration });
      }
      if (p.text === undefined) return;
      const tokens = p.text.split(/\s+/);
      const step = Math.floor(p.duration / tokens.length);
      const Words = tokens.map((w, i) => ({
        Word: w.toLowerCase(),
        Offset: p.offset + i * step,
        Duration: step,
      }));
      const NBest = [
        { Confidence: p.confidence ?? 0.9, Lexical: p.text.toLowerCase(), Display: p.text, Words },
      ];
      // Detailed and simple shapes in one body: the SDK reads whichever its output format asks for.
      const { offset: Offset, duration: Duration } = p;
      send(ws, 'speech.phrase', requestId, {
        RecognitionStatus: 'Success',
        DisplayText: p.text,
        Offset,
        Duration,
        NBest,
      });
      send(ws, 'speech.endDetected', requestId, { Offset: p.offset + p.duration });
    }
  }

  private async answerTts(ws: WebSocket, requestId: string, ssml: string, rate: number): Promise<void> {
    const tts = this.tts;
    if (tts.kind === 'silent') return;
    if (tts.kind === 'close') return ws.close(tts.closeCode, tts.reason);
    const streamId = requestId.slice(0, 16);
    send(ws, 'turn.start', requestId, { context: { serviceTag: 'fake' } });
    send(ws, 'response', requestId, { context: { serviceTag: 'fake' }, audio: { type: 'inline', streamId } });
    const synth = tts.kind === 'synth' ? synthChunks(tts, ssml, rate) : undefined;
    const chunks = synth ? synth.chunks : tts.kind === 'audio' ? tts.chunks : [];
    for (const [i, chunk] of chunks.entries()) {
      if (tts.kind === 'audio' && i === tts.stallAfter) return;
      const delay = synth ? synth.delayMs(i) : tts.kind === 'audio' ? tts.chunkDelayMs : 0;
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (ws.readyState !== ws.OPEN) return;
      const head = Buffer.from(
        `Path: audio\r\nX-RequestId: ${requestId}\r\nX-StreamId: ${streamId}\r\nContent-Type: audio/x-wav\r\n`,
      );
      const len = Buffer.alloc(2);
      len.writeUInt16BE(head.length);
      ws.send(Buffer.concat([len, head, chunk]));
    }
    send(ws, 'turn.end', requestId, {});
  }
}

/** The silent audio of a `synth` answer and when each chunk goes out. */
function synthChunks(tts: SynthTts, ssml: string, rate: number) {
  const chars = ssml.replace(/<[^>]*>/g, '').trim().length;
  const bytes = Math.max(1, Math.round((chars * tts.msPerChar * rate) / 1000)) * 2;
  const chunkBytes = Math.round((tts.chunkMs * rate) / 1000) * 2;
  const chunks: Buffer[] = [];
  for (let off = 0; off < bytes; off += chunkBytes)
    chunks.push(Buffer.alloc(Math.min(chunkBytes, bytes - off)));
  return { chunks, delayMs: (i: number) => (i === 0 ? tts.firstChunkMs : tts.chunkMs / tts.speed) };
}

/** Utterance detection on the audio of one recognition connection (16 kHz PCM16), for EnergyStt. */
class EnergyTracker {
  private samples = 0;
  private speechStart = -1;
  private lastLoud = -1;
  private partialAt = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly threshold: number;
  private readonly endSilenceSamples: number;
  private readonly partialSamples: number;

  constructor(
    private readonly stt: EnergyStt,
    private readonly emit: (path: string, body: unknown) => void,
  ) {
    this.threshold = stt.threshold ?? 300;
    this.endSilenceSamples = ((stt.endSilenceMs ?? 500) * 16000) / 1000;
    this.partialSamples = ((stt.partialEveryMs ?? 300) * 16000) / 1000;
  }

  audio(pcm: Buffer): void {
    const n = pcm.length >> 1;
    let sum = 0;
    for (let i = 0; i + 1 < pcm.length; i += 2) sum += Math.abs(pcm.readInt16LE(i));
    const loud = n > 0 && sum / n > this.threshold;
    const at = this.samples;
    this.samples += n;
    if (loud) {
      if (this.speechStart < 0) {
        this.speechStart = at;
        this.partialAt = at;
        this.emit('speech.startDetected', { Offset: ticks(at) });
      }
      this.lastLoud = this.samples;
    }
    if (this.speechStart < 0) return;
    if (
      this.samples - this.partialAt >= this.partialSamples &&
      this.samples - this.lastLoud < this.endSilenceSamples
    ) {
      this.partialAt = this.samples;
      const words = this.stt.text.split(' ');
      const partial = words.slice(0, Math.max(1, Math.ceil(words.length / 2))).join(' ');
      this.emit('speech.hypothesis', {
        Text: partial,
        Offset: ticks(this.speechStart),
        Duration: ticks(this.samples - this.speechStart),
      });
    }
    if (this.samples - this.lastLoud >= this.endSilenceSamples) {
      const offset = ticks(this.speechStart);
      const duration = ticks(this.lastLoud - this.speechStart);
      this.speechStart = -1;
      const final = () => {
        const text = this.stt.text;
        this.emit('speech.phrase', {
          RecognitionStatus: 'Success',
          DisplayText: text,
          Offset: offset,
          Duration: duration,
          NBest: [{ Confidence: 0.9, Lexical: text.toLowerCase(), Display: text }],
        });
        this.emit('speech.endDetected', { Offset: offset + duration });
      };
      const delay = this.stt.finalDelayMs ?? 0;
      if (delay <= 0) return final();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        final();
      }, delay);
      this.timers.add(timer);
    }
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** 16 kHz samples → 100 ns ticks. */
const ticks = (samples: number) => Math.round((samples * 10_000_000) / 16000);

function send(ws: WebSocket, path: string, requestId: string, body: unknown): void {
  if (ws.readyState !== ws.OPEN) return;
  const headers = `Path: ${path}\r\nX-RequestId: ${requestId}\r\nContent-Type: application/json; charset=utf-8\r\n`;
  ws.send(`${headers}\r\n${JSON.stringify(body)}`);
}

function parse(data: Buffer, isBinary: boolean): UspMessage {
  if (!isBinary) {
    const text = data.toString('utf8');
    const split = text.indexOf('\r\n\r\n');
    const headers = parseHeaders(text.slice(0, split < 0 ? undefined : split));
    return { path: headers.path ?? '', headers, text: split < 0 ? '' : text.slice(split + 4) };
  }
  const headerLength = data.readUInt16BE(0);
  const headers = parseHeaders(data.subarray(2, 2 + headerLength).toString('latin1'));
  return { path: headers.path ?? '', headers, binary: data.subarray(2 + headerLength) };
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Service offsets and durations are 100 ns ticks. */
export const msToTicks = (ms: number) => ms * 10_000;
