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
export type SttBehaviour =
  | { kind: 'phrases'; phrases: UspPhrase[]; holdTurn?: boolean }
  | { kind: 'status'; status: string }
  | { kind: 'silent' }
  | { kind: 'close'; closeCode: number; reason: string };

export type TtsBehaviour =
  | { kind: 'audio'; chunks: Buffer[]; chunkDelayMs?: number; stallAfter?: number }
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
    this.connections.push(conn);
    this.sockets.add(ws);
    ws.on('close', () => {
      conn.closed = true;
      this.sockets.delete(ws);
    });
    const isTts = url.startsWith('/tts/');
    let audioBytes = 0;
    let answered = false;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const msg = parse(data as Buffer, isBinary);
      conn.messages.push(msg);
      const requestId = msg.headers['x-requestid'] ?? '';
      if (isTts && msg.path === 'ssml') void this.answerTts(ws, requestId);
      if (isTts || msg.path !== 'audio') return;
      const payload = msg.binary?.length ?? 0;
      // The first audio message of a request is the RIFF header; an empty one ends the audio.
      if (msg.headers['content-type'] === 'audio/x-wav') return;
      const stt = this.stt;
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

  private async answerTts(ws: WebSocket, requestId: string): Promise<void> {
    const tts = this.tts;
    if (tts.kind === 'silent') return;
    if (tts.kind === 'close') return ws.close(tts.closeCode, tts.reason);
    const streamId = requestId.slice(0, 16);
    send(ws, 'turn.start', requestId, { context: { serviceTag: 'fake' } });
    send(ws, 'response', requestId, { context: { serviceTag: 'fake' }, audio: { type: 'inline', streamId } });
    for (const [i, chunk] of tts.chunks.entries()) {
      if (i === tts.stallAfter) return;
      if (tts.chunkDelayMs) await new Promise((r) => setTimeout(r, tts.chunkDelayMs));
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
