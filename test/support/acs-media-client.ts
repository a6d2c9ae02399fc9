import WebSocket from 'ws';
import { frames } from './audio';

/** A minimal ACS media streaming client for tests: what ACS sends, and what it receives back. */
export class AcsMediaClient {
  readonly received: Array<{ kind: string; bytes?: number; at: number }> = [];
  closed: { code: number; reason: string } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { kind: string; audioData?: { data: string } };
      this.received.push({
        kind: msg.kind,
        bytes: msg.audioData ? Buffer.from(msg.audioData.data, 'base64').length : undefined,
        at: Date.now(),
      });
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }

  /** Opens the socket as ACS does (call id header, optional bearer token); rejects on an HTTP refusal. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<AcsMediaClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const client = new AcsMediaClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  audioFrames(): number {
    return this.received.filter((m) => m.kind === 'AudioData').length;
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  metadata(sampleRate = 16000): void {
    this.sendRaw(
      JSON.stringify({
        kind: 'AudioMetadata',
        audioMetadata: {
          subscriptionId: 'sub',
          encoding: 'PCM',
          sampleRate,
          channels: 1,
          length: (sampleRate / 50) * 2,
        },
      }),
    );
  }

  frame(samples: Int16Array): void {
    const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64');
    this.sendRaw(
      JSON.stringify({
        kind: 'AudioData',
        audioData: { timestamp: new Date().toISOString(), data, silent: false },
      }),
    );
  }

  silentFrame(): void {
    this.sendRaw(
      JSON.stringify({ kind: 'AudioData', audioData: { timestamp: new Date().toISOString(), silent: true } }),
    );
  }

  /** Streams audio as 20 ms frames in real time, then `silenceMs` of silent frames. */
  async stream(samples: Int16Array, silenceMs = 0, sampleRate = 16000): Promise<void> {
    const started = Date.now();
    let sent = 0;
    const pace = async () => {
      sent++;
      const due = started + sent * 20;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    };
    for (const f of frames(samples, sampleRate)) {
      this.frame(f);
      await pace();
    }
    for (let i = 0; i < silenceMs / 20; i++) {
      this.silentFrame();
      await pace();
    }
  }

  close(): void {
    this.ws.close();
  }
}
