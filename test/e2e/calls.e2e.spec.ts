import { AcsRestFake } from '../fakes/acs-rest-server';
import { callbackEvent, incomingCallEvent, postJson, validationEvent } from '../support/acs-events';
import { startTestApp, type TestApp } from '../support/test-app';
import { until } from '../support/wait';
import { CallEventBus } from '../../src/calls/events/call-event-bus';
import type { CallEvent } from '../../src/calls/events/call-events';
import { APOLOGY_TEXT } from '../../src/calls/handlers/call-event-handlers';
import { CallsService } from '../../src/calls/calls.service';
import { CallAdmission } from '../../src/lifecycle/call-admission.service';
import { CallControl } from '../../src/llm/call-control.port';
import { SessionStore } from '../../src/session/session-store';
import { SessionWriteQueue } from '../../src/session/session-write-queue';

const PUBLIC = 'https://voxline.example.com';

async function getJson(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('calls module against a local ACS (real Call Automation SDK)', () => {
  const acs = new AcsRestFake();
  let t: TestApp;
  let events: CallEvent[];

  beforeAll(async () => {
    await acs.start();
    t = await startTestApp({
      ACS_CONNECTION_STRING: acs.connectionString(),
      PUBLIC_BASE_URL: PUBLIC,
      ACS_CALLER_ID: '+18005550100',
      ACS_TIMEOUT_MS: '800',
      MEDIA_AUDIO_FORMAT: 'pcm24KMono',
      CALLER_BLOCK_LIST: '+14255550666',
      TRANSFER_TARGET: '+14255550199',
      MAX_CONCURRENT_CALLS: '3',
    });
    t.app.get(CallEventBus).on('*', (e) => {
      events.push(e);
    });
  });
  beforeEach(() => {
    acs.reset();
    events = [];
  });
  afterAll(async () => {
    await t?.close();
    await acs.close();
  });

  const incoming = (body: unknown) => postJson(`${t.baseUrl}/api/v1/calls/incoming`, body);
  const callbacks = (body: unknown, query = '') =>
    postJson(`${t.baseUrl}/api/v1/calls/callbacks${query}`, body);
  const answers = () => acs.requests.filter((r) => r.path === '/calling/callConnections:answer');

  /** Answers one IncomingCall and returns its ids. */
  async function answerOne(from = '+14255550100') {
    const res = await incoming([incomingCallEvent({ from })]);
    expect(res.body.results[0]).toMatchObject({ status: 'answered' });
    return res.body.results[0] as { callConnectionId: string; sessionId: string };
  }

  async function endCall(callConnectionId: string) {
    await callbacks([callbackEvent('CallDisconnected', callConnectionId)]);
    await until(async () => (await t.app.get(CallsService).get(callConnectionId)).status === 'ended');
  }

  it('answers the Event Grid subscription validation handshake', async () => {
    const event = validationEvent('abc-123');
    const res = await postJson(`${t.baseUrl}/api/v1/calls/incoming`, [event], {
      'aeg-event-type': 'SubscriptionValidation',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ validationResponse: 'abc-123' });
  });

  it('answers every IncomingCall of a batch with our callback URL and bidirectional media options', async () => {
    const res = await incoming([incomingCallEvent(), incomingCallEvent({ from: '+14255550101' })]);
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(2);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['answered', 'answered']);
    expect(answers()).toHaveLength(2);
    for (const [i, request] of answers().entries()) {
      const sessionId = res.body.results.find((r: { sessionId: string }) =>
        (request.body!.callbackUri as string).includes(r.sessionId),
      )?.sessionId;
      expect(sessionId).toBeDefined();
      expect(request.body).toMatchObject({
        incomingCallContext: expect.stringMatching(/^ctx-/),
        callbackUri: `${PUBLIC}/api/v1/calls/callbacks?session=${sessionId}`,
        mediaStreamingOptions: {
          transportType: 'websocket',
          transportUrl: `wss://voxline.example.com/api/v1/media/stream?session=${sessionId}`,
          contentType: 'audio',
          audioChannelType: 'mixed',
          startMediaStreaming: true,
          enableBidirectional: true,
          enableDtmfTones: true,
          audioFormat: 'pcm24KMono',
        },
      });
      expect(i).toBeLessThan(2);
    }
    // Both calls are stored (any replica can serve them) and listed as active.
    const list = await getJson(`${t.baseUrl}/api/v1/calls`);
    const ids = (list.body.calls as Array<{ callConnectionId: string }>).map((c) => c.callConnectionId);
    for (const r of res.body.results) expect(ids).toContain(r.callConnectionId);
    const one = await getJson(`${t.baseUrl}/api/v1/calls/${res.body.results[1].callConnectionId}`);
    expect(one.body).toMatchObject({
      direction: 'inbound',
      status: 'connecting',
      from: '+14255550101',
      to: '+18005550123',
      scenario: 'insurance',
      sessionId: res.body.results[1].sessionId,
    });
    const mapping = await t.app.get(SessionStore).findCall(res.body.results[0].callConnectionId);
    expect(mapping?.sessionId).toBe(res.body.results[0].sessionId);
    for (const r of res.body.results) await endCall(r.callConnectionId);
  });

  it('answers a redelivered IncomingCall event only once', async () => {
    const event = incomingCallEvent();
    await incoming([event]);
    const again = await incoming([event]);
    expect(again.body.results).toEqual([{ eventId: event.id, status: 'duplicate' }]);
    expect(answers()).toHaveLength(1);
    const call = (await t.app.get(SessionStore).list({ limit: 5 }))[0];
    await endCall(call.callConnectionId!);
  });

  it('accepts IncomingCall deliveries in the CloudEvents schema', async () => {
    const { eventType, eventTime, ...rest } = incomingCallEvent();
    const cloudEvent = { ...rest, type: eventType, time: eventTime, specversion: '1.0', source: 'acs' };
    const res = await postJson(`${t.baseUrl}/api/v1/calls/incoming`, cloudEvent, {
      'content-type': 'application/cloudevents+json',
    });
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'answered' });
    await endCall(res.body.results[0].callConnectionId);
  });

  it('rejects calls from blocked numbers as forbidden', async () => {
    const res = await incoming([incomingCallEvent({ from: '+14255550666' })]);
    expect(res.body.results[0]).toMatchObject({ status: 'rejected', reason: 'blocked' });
    expect(acs.last).toMatchObject({
      path: '/calling/callConnections:reject',
      body: { callRejectReason: 'forbidden' },
    });
    expect(answers()).toHaveLength(0);
  });

  it('beyond MAX_CONCURRENT_CALLS rejects incoming calls as busy and answers dial-out with 429', async () => {
    const admission = t.app.get(CallAdmission);
    const held = [admission.admit('other-1'), admission.admit('other-2'), admission.admit('other-3')];
    try {
      const res = await incoming([incomingCallEvent()]);
      expect(res.body.results[0]).toMatchObject({ status: 'rejected', reason: 'busy' });
      expect(acs.last).toMatchObject({
        path: '/calling/callConnections:reject',
        body: { callRejectReason: 'busy' },
      });
      const dial = await postJson(`${t.baseUrl}/api/v1/calls`, { targetNumber: '+14255550123' });
      expect(dial.status).toBe(429);
      expect(dial.body).toMatchObject({ code: 'CAPACITY_EXCEEDED' });
      expect(acs.requests.some((r) => r.path === '/calling/callConnections')).toBe(false);
    } finally {
      for (const lease of held) lease.release();
    }
  });

  it('dials out with the caller id, our callback URL and media options, and stores the call', async () => {
    const res = await postJson(`${t.baseUrl}/api/v1/calls`, {
      targetNumber: '+14255550123',
      scenario: 'insurance',
      record: true,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      callConnectionId: expect.any(String),
      sessionId: expect.any(String),
      direction: 'outbound',
      status: 'connecting',
      record: true,
      to: '+14255550123',
    });
    const create = acs.last;
    expect(create.path).toBe('/calling/callConnections');
    expect(create.body).toMatchObject({
      targets: [{ kind: 'phoneNumber', phoneNumber: { value: '+14255550123' } }],
      sourceCallerIdNumber: { value: '+18005550100' },
      callbackUri: `${PUBLIC}/api/v1/calls/callbacks?session=${res.body.sessionId}`,
      mediaStreamingOptions: {
        enableBidirectional: true,
        audioFormat: 'pcm24KMono',
        startMediaStreaming: true,
      },
    });
    const session = await getJson(`${t.baseUrl}/api/v1/sessions/${res.body.sessionId}`);
    expect(session.body).toMatchObject({
      callConnectionId: res.body.callConnectionId,
      scenario: 'insurance',
    });

    // CallConnected → active, and the call's record flag starts the recording.
    const connected = await callbacks([callbackEvent('CallConnected', res.body.callConnectionId)]);
    expect(connected.body).toMatchObject({ accepted: 1 });
    await until(() => acs.requests.some((r) => r.path === '/calling/recordings'));
    await until(async () =>
      Boolean((await t.app.get(CallsService).get(res.body.callConnectionId)).recordingId),
    );
    expect((await getJson(`${t.baseUrl}/api/v1/calls/${res.body.callConnectionId}`)).body).toMatchObject({
      status: 'connected',
      recordingId: expect.stringMatching(/^rec-/),
    });
    await endCall(res.body.callConnectionId);
  });

  it('rejects invalid dial-out requests with reasons, before calling ACS', async () => {
    const bad = await postJson(`${t.baseUrl}/api/v1/calls`, { targetNumber: '4255550123' });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('targetNumber must be an E.164 phone number');
    const scenario = await postJson(`${t.baseUrl}/api/v1/calls`, {
      targetNumber: '+14255550123',
      scenario: 'nope',
    });
    expect(scenario.status).toBe(400);
    expect(scenario.body.detail).toContain('scenario must be one of: insurance');
    expect(acs.requests).toHaveLength(0);
  });

  it('passes ACS errors back with their code, and times out a silent ACS', async () => {
    acs.failNext(403, '8523', 'Caller id is not a number of this resource.');
    const refused = await postJson(`${t.baseUrl}/api/v1/calls`, { targetNumber: '+14255550123' });
    expect(refused.status).toBe(502);
    expect(refused.body).toMatchObject({ code: 'PROVIDER_ERROR' });
    expect(refused.body.detail).toContain('8523');

    acs.hangNext();
    const slow = await postJson(`${t.baseUrl}/api/v1/calls`, { targetNumber: '+14255550123' });
    expect(slow.status).toBe(504);
    expect(slow.body).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    // Failed dial-outs give their capacity back.
    expect(t.app.get(CallAdmission).activeCount).toBe(0);
  });

  it('handles every event of a callback batch once, publishes them, and ignores duplicates', async () => {
    const { callConnectionId, sessionId } = await answerOne();
    const batch = [
      callbackEvent('CallConnected', callConnectionId),
      callbackEvent('ParticipantsUpdated', callConnectionId, { participants: [{}, {}], sequenceNumber: 1 }),
      callbackEvent('MediaStreamingStarted', callConnectionId, {
        mediaStreamingUpdate: { mediaStreamingStatus: 'mediaStreamingStarted' },
      }),
    ];
    const first = await callbacks(batch, `?session=${sessionId}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 3, duplicates: 0, unknown: 0, rejected: [] });
    await until(() => events.length === 3);
    expect(events.map((e) => e.type)).toEqual([
      'CallConnected',
      'ParticipantsUpdated',
      'MediaStreamingStarted',
    ]);
    expect(events.every((e) => e.sessionId === sessionId)).toBe(true);
    expect(await t.app.get(CallsService).get(callConnectionId)).toMatchObject({
      status: 'connected',
      participants: 2,
    });

    const retry = await callbacks(batch, `?session=${sessionId}`);
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 3 });
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toHaveLength(3);

    // CallDisconnected ends the session and frees the capacity.
    await endCall(callConnectionId);
    await t.app.get(SessionWriteQueue).flush(2000);
    const session = await getJson(`${t.baseUrl}/api/v1/sessions/${sessionId}`);
    expect(session.body).toMatchObject({ state: 'ended', endedAt: expect.any(String) });
    expect(session.body.history).toEqual([
      expect.objectContaining({ role: 'system', text: 'call disconnected' }),
    ]);
    expect(t.app.get(CallAdmission).activeCount).toBe(0);
    const list = await getJson(`${t.baseUrl}/api/v1/calls`);
    expect(
      (list.body.calls as Array<{ callConnectionId: string }>).map((c) => c.callConnectionId),
    ).not.toContain(callConnectionId);
  });

  it('hangs up for everyone and transfers through ACS from the API', async () => {
    const { callConnectionId } = await answerOne();
    const transfer = await postJson(`${t.baseUrl}/api/v1/calls/${callConnectionId}/transfer`, {
      target: '+14255550111',
    });
    expect(transfer.status).toBe(202);
    expect(acs.last).toMatchObject({
      path: `/calling/callConnections/${callConnectionId}:transferToParticipant`,
      body: { targetParticipant: { kind: 'phoneNumber', phoneNumber: { value: '+14255550111' } } },
    });
    const hangup = await postJson(`${t.baseUrl}/api/v1/calls/${callConnectionId}/hangup`, {});
    expect(hangup.status).toBe(202);
    expect(hangup.body).toMatchObject({ callConnectionId, action: 'hanging_up' });
    expect(acs.last).toMatchObject({
      method: 'POST',
      path: `/calling/callConnections/${callConnectionId}:terminate`,
    });
    const unknown = await postJson(`${t.baseUrl}/api/v1/calls/no-such-call/hangup`, {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'CALL_NOT_FOUND' });
    await endCall(callConnectionId);
  });

  it("carries out the agent's call actions (CallControl): transfer to TRANSFER_TARGET, hang up", async () => {
    const { callConnectionId, sessionId } = await answerOne();
    const control = t.app.get(CallControl);
    await control.request(
      { type: 'transfer_requested', reason: 'caller asked for a human' },
      { sessionId, callConnectionId },
    );
    expect(acs.last.body).toMatchObject({ targetParticipant: { phoneNumber: { value: '+14255550199' } } });
    await control.request(
      { type: 'hangup_requested', reason: 'claim filed' },
      { sessionId, callConnectionId },
    );
    expect(acs.last.path).toBe(`/calling/callConnections/${callConnectionId}:terminate`);
    // A chat session without a call: nothing reaches ACS.
    const before = acs.requests.length;
    await control.request({ type: 'hangup_requested', reason: 'done' }, { sessionId: 'chat-only' });
    expect(acs.requests).toHaveLength(before);
    await endCall(callConnectionId);
  });

  it('restarts media streaming once after MediaStreamingFailed, then apologises and hangs up', async () => {
    const { callConnectionId, sessionId } = await answerOne();
    const q = `?session=${sessionId}`;
    await callbacks([callbackEvent('CallConnected', callConnectionId)], q);
    const failed = () =>
      callbackEvent('MediaStreamingFailed', callConnectionId, {
        resultInformation: { code: 500, subCode: 8581, message: 'Media streaming failed: transport error.' },
      });
    await callbacks([failed()], q);
    await until(() => acs.requests.some((r) => r.path.endsWith(':startMediaStreaming')));

    await callbacks([failed()], q);
    await until(() => acs.requests.some((r) => r.path.endsWith(':play')));
    const play = acs.requests.find((r) => r.path.endsWith(':play'))!;
    expect(play.body).toMatchObject({ playSources: [{ kind: 'text', text: { text: APOLOGY_TEXT } }] });
    expect(acs.requests.some((r) => r.path.endsWith(':terminate'))).toBe(false);
    await callbacks(
      [callbackEvent('PlayCompleted', callConnectionId, { operationContext: play.body!.operationContext })],
      q,
    );
    await until(() =>
      acs.requests.some((r) => r.path === `/calling/callConnections/${callConnectionId}:terminate`),
    );
    expect(
      t.logs.find((l) => l.msg === 'media streaming failed' && (l as { subCode?: number }).subCode === 8581),
    ).toBeDefined();
    await endCall(callConnectionId);
  });

  it('hands DTMF digits of our own recognize operations to subscribers; continuous tones are not used', async () => {
    const { callConnectionId, sessionId } = await answerOne();
    const q = `?session=${sessionId}`;
    await callbacks(
      [
        callbackEvent('RecognizeCompleted', callConnectionId, {
          operationContext: 'voxline:recognize:policy',
          recognitionType: 'dtmf',
          dtmfResult: { tones: ['four', 'five', 'six', 'seven', 'pound'] },
        }),
        callbackEvent('ContinuousDtmfRecognitionToneReceived', callConnectionId, {
          tone: 'five',
          sequenceId: 1,
        }),
      ],
      q,
    );
    await until(() => events.length === 2);
    const { recognizedDigits } = await import('../../src/calls/events/call-events');
    expect(recognizedDigits(events[0])).toBe('4567#');
    expect(t.logs.find((l) => l.msg === 'DTMF recognized')).toMatchObject({
      digitCount: 5,
      callConnectionId,
    });
    await endCall(callConnectionId);
  });

  it('logs call events with the call and session ids and never the full caller number', async () => {
    const { callConnectionId, sessionId } = await answerOne('+14255550177');
    await endCall(callConnectionId);
    const answered = t.logs.find(
      (l) => l.msg === 'incoming call answered' && l.callConnectionId === callConnectionId,
    );
    expect(answered).toMatchObject({ sessionId, from: expect.stringMatching(/^\+1\*+77$/) });
    const disconnected = t.logs.find(
      (l) => l.msg === 'call disconnected' && l.callConnectionId === callConnectionId,
    );
    expect(disconnected).toMatchObject({ sessionId });
    expect(t.logs.raw.some((line) => line.includes('4255550177'))).toBe(false);
  });
});

describe('calls module without ACS (local driver)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({});
  });
  afterAll(() => t?.close());

  it('answers dial-out with 501 NOT_AVAILABLE naming the missing setting', async () => {
    const res = await postJson(`${t.baseUrl}/api/v1/calls`, { targetNumber: '+14255550123' });
    expect(res.status).toBe(501);
    expect(res.body).toMatchObject({ code: 'NOT_AVAILABLE' });
    expect(res.body.detail).toContain('ACS_CONNECTION_STRING');
  });

  it('hangs up a local media call by announcing CallDisconnected on the event bus', async () => {
    const store = t.app.get(SessionStore);
    const session = await store.create({ scenario: 'insurance' });
    await store.mapCall('local-abc', session.id, { direction: 'inbound', status: 'connected' });
    const seen: CallEvent[] = [];
    const off = t.app.get(CallEventBus).on('CallDisconnected', (e) => {
      seen.push(e);
    });
    const res = await postJson(`${t.baseUrl}/api/v1/calls/local-abc/hangup`, {});
    off();
    expect(res.status).toBe(202);
    expect(seen).toEqual([expect.objectContaining({ callConnectionId: 'local-abc', sessionId: session.id })]);
  });
});

describe('calls module: dial-out without ACS_CALLER_ID, and two replicas sharing Redis', () => {
  const acs = new AcsRestFake();
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    await acs.start();
    const env = {
      ACS_CONNECTION_STRING: acs.connectionString(),
      PUBLIC_BASE_URL: PUBLIC,
      REDIS_URL: 'redis://127.0.0.1:6379',
    };
    a = await startTestApp(env);
    b = await startTestApp(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await acs.close();
  });

  it("passes ACS's refusal of a PSTN target without caller id back as a clear error", async () => {
    const res = await postJson(`${a.baseUrl}/api/v1/calls`, { targetNumber: '+14255550123' });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'PROVIDER_ERROR' });
    expect(res.body.detail).toContain('8523');
    expect(res.body.detail).toContain('ACS_CALLER_ID is not set');
    expect(acs.last.body).not.toHaveProperty('sourceCallerIdNumber');
  });

  it('serves a call answered by one replica from the other, and handles an ACS retry landing on either once', async () => {
    const answered = await postJson(`${a.baseUrl}/api/v1/calls/incoming`, [incomingCallEvent()]);
    const { callConnectionId, sessionId } = answered.body.results[0];
    const onB = await getJson(`${b.baseUrl}/api/v1/calls/${callConnectionId}`);
    expect(onB.body).toMatchObject({ sessionId, status: 'connecting' });

    const seenA: CallEvent[] = [];
    const seenB: CallEvent[] = [];
    a.app.get(CallEventBus).on('*', (e) => {
      seenA.push(e);
    });
    b.app.get(CallEventBus).on('*', (e) => {
      seenB.push(e);
    });
    const event = callbackEvent('CallConnected', callConnectionId);
    const first = await postJson(`${a.baseUrl}/api/v1/calls/callbacks?session=${sessionId}`, [event]);
    const retry = await postJson(`${b.baseUrl}/api/v1/calls/callbacks?session=${sessionId}`, [event]);
    expect(first.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 1 });
    await until(
      async () =>
        (await getJson(`${b.baseUrl}/api/v1/calls/${callConnectionId}`)).body.status === 'connected',
    );
    expect(seenA).toHaveLength(1);
    expect(seenB).toHaveLength(0);

    await postJson(`${b.baseUrl}/api/v1/calls/callbacks?session=${sessionId}`, [
      callbackEvent('CallDisconnected', callConnectionId),
    ]);
    await until(
      async () => (await getJson(`${a.baseUrl}/api/v1/calls/${callConnectionId}`)).body.status === 'ended',
    );
  });
});
