import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { AcsCallAutomation } from '../../../src/calls/automation/acs-call-automation';
import type { MediaStreamingSpec } from '../../../src/calls/ports';
import { loadConfig } from '../../../src/config';
import { Telemetry } from '../../../src/telemetry/telemetry';
import { AcsRestFake } from '../../fakes/acs-rest-server';

const MEDIA: MediaStreamingSpec = {
  transportUrl: 'wss://voxline.example/api/v1/media/stream?call=abc',
  audioFormat: 'pcm16KMono',
  startMediaStreaming: true,
  enableBidirectional: true,
  enableDtmfTones: true,
};
const CALLBACK = 'https://voxline.example/api/v1/calls/events';
const CALL = 'call-connection-1';

describe('AcsCallAutomation (real ACS SDK → local fake ACS REST verifying HMAC signatures)', () => {
  const fake = new AcsRestFake();
  const spans = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let acs: AcsCallAutomation;
  beforeAll(async () => {
    telemetry = Telemetry.start(loadConfig({ OTEL_SERVICE_NAME: 'voxline-test' }, { envFile: false }), {
      spanExporter: spans,
      instanceId: 'i-1',
    });
    await fake.start();
    acs = new AcsCallAutomation({
      connectionString: fake.connectionString(),
      maxRetries: 0,
      timeoutMs: 2_000,
    });
  });
  afterEach(() => {
    fake.reset();
    spans.reset();
  });
  afterAll(async () => {
    await fake.close();
    await telemetry.shutdown();
  });

  it('traces each SDK call as one CLIENT span to acs with the call connection id, failures as ERROR', async () => {
    await acs.startMediaStreaming(CALL);
    fake.failNext(500, '8500', 'Internal server error.');
    await expect(acs.stopMediaStreaming(CALL)).rejects.toMatchObject({ code: 'PROVIDER_ERROR' });
    const [ok, failed, ...rest] = spans.getFinishedSpans();
    expect(rest).toHaveLength(0);
    expect(ok).toMatchObject({
      name: 'acs startMediaStreaming',
      kind: SpanKind.CLIENT,
      attributes: { 'peer.service': 'acs', 'rt.call.connection_id': CALL },
    });
    expect(ok.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(failed.name).toBe('acs stopMediaStreaming');
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['error.type']).toBe('PROVIDER_ERROR');
  });

  it('answers with our media WebSocket, bidirectional audio in the configured format and our callback URI', async () => {
    const result = await acs.answerCall({
      incomingCallContext: 'incoming-ctx',
      callbackUri: CALLBACK,
      media: MEDIA,
      operationContext: 'answer-1',
    });
    expect(result.callConnectionId).toEqual(expect.any(String));
    expect(result.serverCallId).toMatch(/^server-/);
    expect(fake.last).toMatchObject({
      method: 'POST',
      path: '/calling/callConnections:answer',
      query: { 'api-version': expect.any(String) },
      status: 200,
      body: {
        incomingCallContext: 'incoming-ctx',
        callbackUri: CALLBACK,
        operationContext: 'answer-1',
        mediaStreamingOptions: {
          transportUrl: MEDIA.transportUrl,
          transportType: 'websocket',
          contentType: 'audio',
          audioChannelType: 'mixed',
          startMediaStreaming: true,
          enableBidirectional: true,
          audioFormat: 'pcm16KMono',
          enableDtmfTones: true,
        },
      },
    });

    await acs.answerCall({
      incomingCallContext: 'incoming-ctx-2',
      callbackUri: CALLBACK,
      media: { ...MEDIA, audioFormat: 'pcm24KMono' },
    });
    expect(fake.last.body).toMatchObject({ mediaStreamingOptions: { audioFormat: 'pcm24KMono' } });
  });

  it('dials a PSTN number with the configured caller id and streams media the same way', async () => {
    const result = await acs.createCall({
      targetNumber: '+15551230001',
      callerId: '+15559870000',
      callbackUri: CALLBACK,
      media: MEDIA,
    });
    expect(result.callConnectionId).toEqual(expect.any(String));
    expect(fake.last).toMatchObject({
      method: 'POST',
      path: '/calling/callConnections',
      status: 201,
      body: {
        targets: [{ kind: 'phoneNumber', phoneNumber: { value: '+15551230001' } }],
        sourceCallerIdNumber: { value: '+15559870000' },
        callbackUri: CALLBACK,
        mediaStreamingOptions: { transportUrl: MEDIA.transportUrl, enableBidirectional: true },
      },
    });
  });

  it('sends no caller id when none is configured, and ACS refusing the PSTN call surfaces its code', async () => {
    const attempt = acs.createCall({ targetNumber: '+15551230001', callbackUri: CALLBACK, media: MEDIA });
    await expect(attempt).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      message: expect.stringMatching(/^ACS createCall failed: 400 8523: .*sourceCallerIdNumber/),
      details: { status: 400, code: '8523' },
    });
    expect(fake.last.body).not.toHaveProperty('sourceCallerIdNumber');
  });

  it('rejects an incoming call with the given reason', async () => {
    await acs.rejectCall('incoming-ctx', 'busy');
    expect(fake.last).toMatchObject({
      path: '/calling/callConnections:reject',
      status: 204,
      body: { incomingCallContext: 'incoming-ctx', callRejectReason: 'busy' },
    });
  });

  it('plays text to everyone in the call', async () => {
    await acs.playText(CALL, {
      text: 'Hello there',
      voiceName: 'en-US-JennyNeural',
      operationContext: 'greet',
    });
    expect(fake.last).toMatchObject({
      path: `/calling/callConnections/${CALL}:play`,
      status: 202,
      body: {
        playSources: [{ kind: 'text', text: { text: 'Hello there', voiceName: 'en-US-JennyNeural' } }],
        playTo: [],
        operationContext: 'greet',
      },
    });
  });

  it('starts DTMF recognition for the caller with max tones, stop tones and a spoken prompt', async () => {
    await acs.recognizeDtmf(CALL, {
      targetParticipant: '4:+15551230001',
      maxTones: 4,
      interToneTimeoutSeconds: 3,
      stopTones: ['#'],
      prompt: 'Enter your PIN',
      operationContext: 'pin',
    });
    expect(fake.last).toMatchObject({
      path: `/calling/callConnections/${CALL}:recognize`,
      status: 202,
      body: {
        recognizeInputType: 'dtmf',
        playPrompt: { kind: 'text', text: { text: 'Enter your PIN' } },
        operationContext: 'pin',
        recognizeOptions: {
          targetParticipant: { phoneNumber: { value: '+15551230001' } },
          dtmfOptions: { maxTonesToCollect: 4, interToneTimeoutInSeconds: 3, stopTones: ['pound'] },
        },
      },
    });
  });

  it('starts and stops media streaming', async () => {
    await acs.startMediaStreaming(CALL);
    expect(fake.last).toMatchObject({
      path: `/calling/callConnections/${CALL}:startMediaStreaming`,
      status: 202,
    });
    await acs.stopMediaStreaming(CALL);
    expect(fake.last).toMatchObject({
      path: `/calling/callConnections/${CALL}:stopMediaStreaming`,
      status: 202,
    });
  });

  it('leaves the call with DELETE and ends it for everyone with :terminate', async () => {
    await acs.hangUp(CALL, false);
    expect(fake.last).toMatchObject({
      method: 'DELETE',
      path: `/calling/callConnections/${CALL}`,
      status: 204,
    });
    await acs.hangUp(CALL, true);
    expect(fake.last).toMatchObject({
      method: 'POST',
      path: `/calling/callConnections/${CALL}:terminate`,
      status: 204,
    });
  });

  it('transfers to a phone number or to an ACS user', async () => {
    await acs.transfer(CALL, '+15557770000');
    expect(fake.last).toMatchObject({
      path: `/calling/callConnections/${CALL}:transferToParticipant`,
      status: 202,
      body: { targetParticipant: { kind: 'phoneNumber', phoneNumber: { value: '+15557770000' } } },
    });
    await acs.transfer(CALL, '8:acs:resource_agent-7');
    expect(fake.last.body).toMatchObject({
      targetParticipant: { kind: 'communicationUser', communicationUser: { id: '8:acs:resource_agent-7' } },
    });
    await expect(acs.transfer(CALL, 'not-a-target')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('starts recording the server call and returns the recording id', async () => {
    await expect(acs.startRecording('server-call-9')).resolves.toEqual({
      recordingId: expect.stringMatching(/^rec-/),
    });
    expect(fake.last).toMatchObject({
      path: '/calling/recordings',
      status: 200,
      body: { callLocator: { kind: 'serverCallLocator', serverCallId: 'server-call-9' } },
    });
  });

  it('turns an ACS error response into PROVIDER_ERROR naming the status and the ACS code', async () => {
    fake.failNext(404, '8522', 'Call not found.');
    await expect(acs.playText(CALL, { text: 'hi' })).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      message: 'ACS playText failed: 404 8522: Call not found.',
      details: { status: 404, code: '8522' },
    });
  });

  it('gives up on a slow ACS with PROVIDER_TIMEOUT within the configured timeout', async () => {
    const quick = new AcsCallAutomation({
      connectionString: fake.connectionString(),
      maxRetries: 0,
      timeoutMs: 300,
    });
    fake.hangNext();
    const started = Date.now();
    await expect(quick.hangUp(CALL, true)).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      message: 'ACS hangUp timed out after 300 ms',
    });
    expect(Date.now() - started).toBeLessThan(1_500);
    // The SDK drops the signal on startRecognizing: the deadline still holds.
    fake.hangNext();
    await expect(
      quick.recognizeDtmf(CALL, { targetParticipant: '+15551230001', maxTones: 1 }),
    ).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
    });
  });

  it("stops when the caller's signal aborts", async () => {
    fake.hangNext();
    const controller = new AbortController();
    const pending = acs.startMediaStreaming(CALL, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      message: 'ACS startMediaStreaming was aborted',
    });
  });

  it('is refused by ACS (401) when signing with the wrong access key, surfacing PROVIDER_ERROR', async () => {
    const wrongKey = new AcsCallAutomation({
      connectionString: fake.connectionString(randomBytes(32).toString('base64')),
      maxRetries: 0,
    });
    await expect(wrongKey.hangUp(CALL, false)).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      message: 'ACS hangUp failed: 401 Unauthorized: signature mismatch',
      details: { status: 401 },
    });
    expect(fake.unauthorized).toHaveLength(1);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a plain http endpoint that is not loopback, without echoing the key', () => {
    const key = randomBytes(32).toString('base64');
    const build = () =>
      new AcsCallAutomation({ connectionString: `endpoint=http://acs.example.com/;accesskey=${key}` });
    expect(build).toThrow(/plain http/);
    expect(build).not.toThrow(key);
  });
});
