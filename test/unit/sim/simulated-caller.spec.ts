import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeAudioData, STOP_AUDIO } from '../../../src/media/codec/acs-media-codec';
import { prepareUtterance, SimulatedCaller } from '../../../src/sim/simulated-caller';

/** A stand-in for the service: records what the caller sends and sends what the test says. */
class FakeService {
  readonly server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  socket: WebSocket | undefined;
  headers: Record<string, string | string[] | undefined> = {};
  readonly received: string[] = [];

  constructor() {
    this.server.on('connection', (ws, req) => {
      this.socket = ws;
      this.headers = req.headers;
      ws.on('message', (data) => this.received.push(data.toString()));
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1/media/stream`;
  }

  close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Polls real I/O (loopback messages), never asserts on time. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** 20 ms agent frames at 16 kHz whose samples all carry the frame's number. */
const agentFrame = (n: number) => Buffer.from(new Int16Array(320).fill(n).buffer);

/** `frames` 20 ms frames at 16 kHz: loud where `loud(i)`, digital silence elsewhere. */
const utterance = (frames: number, loud: (i: number) => boolean) =>
  Int16Array.from({ length: frames * 320 }, (_, s) =>
    loud(Math.floor(s / 320)) ? (s % 2 ? 9000 : -9000) : 0,
  );

describe('SimulatedCaller (driven by a fake clock and explicit ticks)', () => {
  let service: FakeService;
  let now: number;
  let caller: SimulatedCaller;
  const clock = () => now;

  beforeEach(async () => {
    service = new FakeService();
    await new Promise((r) => service.server.once('listening', r));
    now = 1_000_000;
    caller = await SimulatedCaller.connect(service.url, {
      callConnectionId: 'unit-call',
      pacer: null,
      clock,
    });
    await until(() => service.socket !== undefined, 'the connection');
  });
  afterEach(async () => {
    await caller.close(1000, 'done', 200);
    await service.close();
  });

  /** The service sends `messages`; resolves once the caller has them all. */
  async function serviceSends(...messages: string[]): Promise<void> {
    const before = caller.received.audioData + caller.received.stopAudio;
    for (const m of messages) service.socket!.send(m);
    await until(
      () => caller.received.audioData + caller.received.stopAudio === before + messages.length,
      'messages',
    );
  }

  function advance(ms: number): void {
    for (let t = 0; t < ms; t += 5) {
      now += 5;
      caller.tick(now);
    }
  }

  it('connects with the headers ACS sends, starts with AudioMetadata and streams comfort noise at 50 frames a second', async () => {
    caller.sendMetadata();
    advance(200);
    await until(() => service.received.length === 11, 'metadata and 10 frames');
    expect(service.headers).toMatchObject({
      'x-ms-call-connection-id': 'unit-call',
      'x-ms-call-correlation-id': 'unit-call',
    });
    expect(JSON.parse(service.received[0])).toMatchObject({
      kind: 'AudioMetadata',
      audioMetadata: { sampleRate: 16000 },
    });
    expect(service.received.slice(1).every((m) => m.startsWith('{"kind":"AudioData"'))).toBe(true);
  });

  it('drops agent audio queued but not yet played when StopAudio arrives, keeping what was heard', async () => {
    caller.sendMetadata();
    // Ten frames arrive at once: ACS plays them over the next 200 ms.
    await serviceSends(...Array.from({ length: 10 }, (_, i) => encodeAudioData(agentFrame(i + 1))));
    now += 50;
    await serviceSends(STOP_AUDIO);
    const heard = new Int16Array(new Uint8Array(caller.agentAudio()).buffer);
    expect(heard.length).toBe(800); // 50 ms: frames 1 and 2, and half of frame 3
    expect([heard[0], heard[319], heard[320], heard[640], heard[799]]).toEqual([1, 1, 2, 3, 3]);
    expect(caller.greeting.agentAudioMs).toBe(50);
    // Audio after the stop plays from the stop on.
    await serviceSends(encodeAudioData(agentFrame(42)));
    now += 100;
    expect(caller.agentAudio().length).toBe(1600 + 640);
    expect(caller.agentAudio({ timeline: true }).length).toBe(1600 + 640);
  });

  it('keeps silence between agent replies in the timeline audio', async () => {
    caller.sendMetadata();
    await serviceSends(encodeAudioData(agentFrame(1)));
    now += 1000;
    await serviceSends(encodeAudioData(agentFrame(2)));
    now += 20;
    expect(caller.agentAudio().length).toBe(1280);
    expect(caller.agentAudio({ timeline: true }).length).toBe(1000 * 32 + 640);
  });

  it('measures the greeting, and e2e latency from the last loud frame sent to the first agent audio', async () => {
    caller.sendMetadata();
    now += 120;
    await serviceSends(encodeAudioData(agentFrame(1)));
    expect(caller.greeting.firstAudioMs).toBe(120);
    advance(500);
    // Frames 2–4 are loud, 0–1 and 5–9 quiet.
    const speaking = caller.speak(
      prepareUtterance(
        utterance(10, (i) => i >= 2 && i <= 4),
        16000,
      ),
    );
    await Promise.resolve();
    advance(300);
    const turn = await speaking;
    expect(turn.speechEndAt! - turn.speechOnsetAt!).toBe(40);
    expect(turn.endedAt! - turn.speechEndAt!).toBe(100);
    const endOfSpeech = turn.speechEndAt!;
    now = endOfSpeech + 650;
    await serviceSends(encodeAudioData(agentFrame(2)));
    now += 20;
    await serviceSends(encodeAudioData(agentFrame(3)));
    expect(turn.e2eLatencyMs).toBe(650);
    expect(turn.bargeInMs).toBeUndefined();
    now += 100;
    expect(caller.agentPlaying()).toBe(false);
    expect(await caller.waitForAgent({ quietMs: 50, timeoutMs: 1000 })).toEqual({
      replied: true,
      timedOut: false,
      closed: false,
    });
  });

  it('measures bargein_ms from the caller’s speech onset to StopAudio and marks the turn interrupted', async () => {
    caller.sendMetadata();
    await serviceSends(...Array.from({ length: 50 }, (_, i) => encodeAudioData(agentFrame(i + 1))));
    const speaking = caller.speak(
      prepareUtterance(
        utterance(20, (i) => i >= 1),
        16000,
      ),
      { bargeInAfterMs: 0 },
    );
    await until(() => caller.turns.length === 1, 'the turn to start');
    advance(40);
    const turn = caller.turns[0];
    expect(turn.agentPlayingAtOnset).toBe(true);
    now += 260;
    const stopAt = now;
    await serviceSends(STOP_AUDIO);
    // The first frame is quiet: speech starts with the second one, 20 ms into the turn.
    expect(turn.speechOnsetAt).toBe(turn.startedAt + 20);
    expect(turn).toMatchObject({ interrupted: true, bargeInMs: stopAt - turn.startedAt - 20 });
    advance(400);
    await speaking;
  });

  it('reports a service close and stops sending', async () => {
    caller.sendMetadata();
    service.socket!.close(1000, 'call disconnected');
    await until(() => caller.closed !== undefined, 'the close');
    expect(caller.closed).toMatchObject({ code: 1000, reason: 'call disconnected', byService: true });
    expect(await caller.waitForAgent({ timeoutMs: 1000 })).toEqual({
      replied: false,
      timedOut: false,
      closed: true,
    });
    await expect(caller.speak(new Int16Array(320))).rejects.toThrow(
      'the media socket is closed (1000 call disconnected)',
    );
  });
});

describe('SimulatedCaller.connect failures', () => {
  it('names the HTTP status when the upgrade is refused', async () => {
    const server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (_info, cb) => cb(false, 401, 'Unauthorized'),
    });
    await new Promise((r) => server.once('listening', r));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    await expect(SimulatedCaller.connect(url, { callConnectionId: 'c', pacer: null })).rejects.toThrow(
      `media WebSocket upgrade refused by ${url}: HTTP 401 Unauthorized`,
    );
    await new Promise((r) => server.close(r));
  });

  it('names the socket error when nothing listens', async () => {
    await expect(
      SimulatedCaller.connect('ws://127.0.0.1:9/x', { callConnectionId: 'c', pacer: null }),
    ).rejects.toThrow('cannot open the media WebSocket ws://127.0.0.1:9/x: ECONNREFUSED');
  });
});
