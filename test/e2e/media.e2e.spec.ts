import { SpanKind } from '@opentelemetry/api';
import { callbackEvent } from '../support/acs-events';
import { AcsMediaClient } from '../support/acs-media-client';
import { speak } from '../support/audio';
import { startTestApp, type TestApp } from '../support/test-app';
import { until } from '../support/wait';
import { CallEventBus } from '../../src/calls/events/call-event-bus';
import { CallAdmission } from '../../src/lifecycle/call-admission.service';
import { JwksServer } from '../fakes/jwks-server';

const PATH = '/api/v1/media/stream';

async function sessionOf(t: TestApp, callId: string) {
  const res = await fetch(`${t.baseUrl}/api/v1/sessions?callConnectionId=${callId}`);
  const { sessions } = (await res.json()) as { sessions: Array<{ id: string }> };
  if (!sessions[0]) return undefined;
  return (await (await fetch(`${t.baseUrl}/api/v1/sessions/${sessions[0].id}`)).json()) as {
    id: string;
    history: Array<{ role: string; text: string; interrupted?: boolean }>;
    turns: Array<Record<string, number>>;
  };
}

describe('media WebSocket with the embedded engines (MEDIA cascade)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MEDIA_IDLE_TIMEOUT_SECONDS: '30' });
  });
  afterAll(() => t.close());

  it('greets right after AudioMetadata and answers the caller by voice', async () => {
    const client = await AcsMediaClient.connect(`${t.wsUrl}${PATH}`, {
      'x-ms-call-connection-id': 'e2e-media-1',
    });
    client.metadata(16000);
    await until(() => client.audioFrames() > 10, 10_000);
    expect(client.received.find((m) => m.kind === 'AudioData')?.bytes).toBe(640);
    // Let the greeting play out (silence keeps the call's clock moving), then speak.
    await client.stream(new Int16Array(0), 1000);
    // The greeting is written to the history once it has been heard to the end.
    await until(async () => Boolean((await sessionOf(t, 'e2e-media-1'))?.history[0]), 15_000);
    const session = await sessionOf(t, 'e2e-media-1');
    expect(session?.history[0]).toMatchObject({ role: 'agent' });
    expect(session?.history[0].interrupted).toBeUndefined();
    const before = client.audioFrames();
    await client.stream(await speak('my name is alice brown'), 1500);
    await until(async () => {
      const s = await sessionOf(t, 'e2e-media-1');
      return Boolean(s?.history.some((h) => h.role === 'caller') && s.history.at(-1)?.role === 'agent');
    }, 15_000);
    await until(() => client.audioFrames() > before + 10, 10_000);
    const after = await sessionOf(t, 'e2e-media-1');
    const caller = after!.history.find((h) => h.role === 'caller')!;
    expect(caller.text.toLowerCase()).toContain('alice');
    expect(after!.turns.some((m) => typeof m.greeting_ttfb_ms === 'number')).toBe(true);
    client.close();
    await until(() => t.spans.getFinishedSpans().some((s) => s.name === 'call'), 5_000);
    // One root span per call; the WS accept (SERVER), turns and VAD segments (INTERNAL) beneath it.
    const spans = t.spans
      .getFinishedSpans()
      .filter((s) => s.name === 'call' && s.attributes['rt.call.connection_id'] === 'e2e-media-1');
    expect(spans).toHaveLength(1);
    const callSpan = spans[0].spanContext().spanId;
    const children = t.spans.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === callSpan);
    expect(children.find((s) => s.name === `WS ${PATH}`)?.kind).toBe(SpanKind.SERVER);
    expect(
      children.some((s) => s.name === 'turn' && typeof s.attributes['rt.e2e_latency_ms'] === 'number'),
    ).toBe(true);
    expect(children.some((s) => s.name === 'vad.segment')).toBe(true);
    // The model's work for a turn is traced beneath that turn.
    const turnIds = new Set(children.filter((s) => s.name === 'turn').map((s) => s.spanContext().spanId));
    expect(
      t.spans
        .getFinishedSpans()
        .some((s) => s.name === 'llm.step' && turnIds.has(s.parentSpanContext?.spanId ?? '')),
    ).toBe(true);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/voxline_turn_e2e_latency_ms\w*_count(\{[^}]*\})? [1-9]/);
  }, 40_000);

  it('counts malformed frames and keeps the call going', async () => {
    const client = await AcsMediaClient.connect(`${t.wsUrl}${PATH}?call_connection_id=e2e-media-2`);
    client.metadata(16000);
    client.sendRaw('{"kind":');
    client.sendRaw('{"kind":"Video","video":{}}');
    client.ws.send(Buffer.from([1, 2, 3]));
    await until(() => client.audioFrames() > 3, 10_000);
    await client.stream(new Int16Array(0), 200);
    expect(client.closed).toBeUndefined();
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/voxline_media_frames_rejected_total\{reason="malformed_json"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/voxline_media_frames_rejected_total\{reason="unknown_kind"[^}]*\} [1-9]/);
    expect(
      t.logs.find((l) => l.msg === 'media frame rejected' && l.callConnectionId === 'e2e-media-2'),
    ).toBeDefined();
    client.close();
  }, 20_000);

  it('closes the socket when ACS reports CallDisconnected for the call', async () => {
    const client = await AcsMediaClient.connect(`${t.wsUrl}${PATH}`, {
      'x-ms-call-connection-id': 'e2e-media-3',
    });
    client.metadata(16000);
    await until(() => client.audioFrames() > 0, 10_000);
    const event = callbackEvent('CallDisconnected', 'e2e-media-3');
    await t.app
      .get(CallEventBus)
      .publish({ type: 'CallDisconnected', id: event.id, callConnectionId: 'e2e-media-3', data: event.data });
    await until(() => client.closed !== undefined);
    expect(client.closed).toEqual({ code: 1000, reason: 'call disconnected' });
  }, 20_000);

  it('hang-up releases the call: the STT decoder it holds mid-utterance goes back to its pool and the capacity slot is freed', async () => {
    const pools = async () =>
      (
        (await (await fetch(`${t.baseUrl}/api/v1/pools`)).json()) as {
          pools: Array<{ name: string; inUse: number }>;
        }
      ).pools;
    const inUse = async () => (await pools()).find((p) => p.name === 'pocketsphinx')!.inUse;
    const admission = t.app.get(CallAdmission);
    const before = await inUse();
    const activeBefore = admission.activeCount;
    const client = await AcsMediaClient.connect(`${t.wsUrl}${PATH}`, {
      'x-ms-call-connection-id': 'e2e-media-5',
    });
    client.metadata(16000);
    await client.stream(new Int16Array(0), 400);
    await until(() => admission.activeCount === activeBefore + 1, 5_000);
    // A quiet caller holds no decoder (leased per utterance); one who speaks does, until the final.
    expect(await inUse()).toBe(before);
    const speech = await speak('please call me back tomorrow morning when you have a moment');
    await client.stream(speech.subarray(0, Math.floor(speech.length * 0.7)));
    await until(async () => (await inUse()) === before + 1, 10_000);
    client.ws.close(1000, 'caller hung up');
    await until(async () => (await inUse()) === before, 10_000);
    await until(() => admission.activeCount === activeBefore, 5_000);
  }, 30_000);

  it('closes a voice_live call with a clear reason until that mode exists', async () => {
    const client = await AcsMediaClient.connect(
      `${t.wsUrl}${PATH}?call_connection_id=e2e-media-4&streaming_mode=voice_live`,
    );
    await until(() => client.closed !== undefined);
    expect(client.closed!.code).toBe(1008);
    expect(client.closed!.reason).toContain('voice_live is not implemented');
  });
});

describe('media WebSocket limits and security', () => {
  const jwks = new JwksServer();
  let t: TestApp;
  const AUDIENCE = 'acs-resource-id';
  const ISSUER = 'https://acscallautomation.communication.azure.com';
  beforeAll(async () => {
    await jwks.start();
    t = await startTestApp({
      MAX_CONCURRENT_CALLS: '1',
      MEDIA_IDLE_TIMEOUT_SECONDS: '1',
      MEDIA_MAX_FRAME_BYTES: '4096',
      ACS_AUDIENCE: AUDIENCE,
      ACS_JWKS_URL: jwks.url,
    });
  });
  afterAll(async () => {
    await t.close();
    await jwks.close();
  });
  const auth = async () => ({
    authorization: `Bearer ${await jwks.token({}, { issuer: ISSUER, audience: AUDIENCE })}`,
  });

  it('refuses the upgrade without a valid ACS token', async () => {
    await expect(AcsMediaClient.connect(`${t.wsUrl}${PATH}`)).rejects.toThrow('HTTP 401');
    const wrong = await jwks.token({}, { issuer: ISSUER, audience: 'other' });
    await expect(
      AcsMediaClient.connect(`${t.wsUrl}${PATH}`, { authorization: `Bearer ${wrong}` }),
    ).rejects.toThrow('HTTP 401');
  });

  it('closes a second call with 1013 beyond MAX_CONCURRENT_CALLS, an oversized frame with 1009, an idle socket with 1001', async () => {
    const first = await AcsMediaClient.connect(`${t.wsUrl}${PATH}`, {
      ...(await auth()),
      'x-ms-call-connection-id': 'lim-1',
    });
    first.metadata(16000);
    // ACS sends a frame every 20 ms, silence included; without them the 1 s idle limit would apply.
    let second: AcsMediaClient | undefined;
    const keepAlive = setInterval(() => {
      first.silentFrame();
      if (second?.closed === undefined) second?.silentFrame();
    }, 20);
    try {
      await until(() => first.audioFrames() > 0, 10_000);
      second = await AcsMediaClient.connect(`${t.wsUrl}${PATH}`, {
        ...(await auth()),
        'x-ms-call-connection-id': 'lim-2',
      });
      await until(() => second!.closed !== undefined, 5000);
      expect(second.closed!.code).toBe(1013);

      first.sendRaw('x'.repeat(5000));
      await until(() => first.closed !== undefined);
      expect(first.closed!.code).toBe(1009);
    } finally {
      clearInterval(keepAlive);
    }

    // The capacity slot comes back when the closed call is torn down.
    await until(() => t.app.get(CallAdmission).activeCount === 0);
    const idle = await AcsMediaClient.connect(`${t.wsUrl}${PATH}`, {
      ...(await auth()),
      'x-ms-call-connection-id': 'lim-3',
    });
    await until(() => idle.closed !== undefined, 5000);
    expect(idle.closed!.code).toBe(1001);
  }, 30_000);
});
