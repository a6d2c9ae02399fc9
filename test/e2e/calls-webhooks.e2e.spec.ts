import { randomUUID } from 'node:crypto';
import { BODY_LIMIT_BYTES } from '../../src/app.factory';
import { AcsRestFake } from '../fakes/acs-rest-server';
import { JwksServer } from '../fakes/jwks-server';
import { callbackEvent, incomingCallEvent, postJson, validationEvent } from '../support/acs-events';
import { startTestApp, type TestApp } from '../support/test-app';
import { until } from '../support/wait';

/**
 * The ACS / Event Grid webhooks end to end: the whole app on port 0 with a local ACS REST fake (and a
 * local JWKS server), driven over HTTP the way ACS and Event Grid call it.
 */

const ISSUER = 'https://acscallautomation.communication.azure.com';
const AUDIENCE = 'e2e-acs-resource-immutable-id';
const PUBLIC_BASE_URL = 'https://voxline.example.com';
const CALLBACKS = '/api/v1/calls/callbacks';
const INCOMING = '/api/v1/calls/incoming';
const UNKNOWN_LOG = 'unknown ACS callback event type (acknowledged, not handled)';

type Reply = Awaited<ReturnType<typeof postJson>>;

/** Asserts an RFC 9457 problem+json answer with this status (and code, when given). */
function expectProblem(res: Reply, status: number, code?: string): void {
  expect({ status: res.status, contentType: res.headers.get('content-type') }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
  });
  expect(res.body).toMatchObject({
    type: expect.stringMatching(/^https:\/\/voxline\.dev\/errors\//),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code: code ?? expect.any(String),
    requestId: expect.any(String),
  });
}

/** A request with an arbitrary method, returning status, headers and the parsed (or raw) body. */
async function request(url: string, init: RequestInit): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

const acsEnv = (fake: AcsRestFake): Record<string, string> => ({
  ACS_CONNECTION_STRING: fake.connectionString(),
  PUBLIC_BASE_URL,
});

/** The URL ACS was told to call back, rebased on the test app (path + query kept exactly). */
function rebase(callbackUri: string, baseUrl: string): string {
  const url = new URL(callbackUri);
  return `${baseUrl}${url.pathname}${url.search}`;
}

// Kept first in the file: the OpenTelemetry meter is process-global and every app of this file adds its
// own observer of voxline_acs_callback_events, so the counter is read while this app is the only one.
describe('ACS webhooks without authentication settings', () => {
  const fake = new AcsRestFake();
  let t: TestApp;
  beforeAll(async () => {
    await fake.start();
    t = await startTestApp(acsEnv(fake));
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  describe('a mixed callback batch', () => {
    const mixed = () => [
      callbackEvent('CallConnected', `unknown-call-${randomUUID()}`),
      callbackEvent('SomethingNew', `unknown-call-${randomUUID()}`),
      { type: 'Microsoft.Communication.CallConnected', data: { callConnectionId: 'no-id' } },
    ];

    it('is acknowledged with a receipt: one accepted, one unknown type, the invalid element rejected by index', async () => {
      const res = await postJson(`${t.baseUrl}${CALLBACKS}`, mixed());
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        accepted: 1,
        duplicates: 0,
        unknown: 1,
        rejected: [{ index: 2, reason: 'element has no id' }],
      });
    });

    it('logs an unknown event type once, however often it arrives, and counts it in /metrics', async () => {
      const again = await postJson(`${t.baseUrl}${CALLBACKS}`, mixed());
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ accepted: 1, unknown: 1, rejected: [{ index: 2 }] });

      // Logged while the batch is accepted, before the answer: no waiting needed.
      expect(t.logs.lines.filter((l) => l.msg === 'invalid ACS callback elements rejected')).toHaveLength(2);
      const warnings = t.logs.lines.filter((l) => l.msg === UNKNOWN_LOG);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 'warn', eventType: 'SomethingNew' });

      const metrics = await fetch(`${t.baseUrl}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      // e.g. voxline_acs_callback_events_total{outcome="unknown",otel_scope_name="nestjs-otel"} 2
      const line = (outcome: string) =>
        text.split('\n').find((l) => l.startsWith(`voxline_acs_callback_events_total{outcome="${outcome}",`));
      expect(line('unknown')).toBe(
        'voxline_acs_callback_events_total{outcome="unknown",otel_scope_name="nestjs-otel"} 2',
      );
      expect(line('accepted')).toMatch(/\} 2$/);
      expect(line('rejected')).toMatch(/\} 2$/);
    });

    it('drops a resent event id as a duplicate', async () => {
      const event = callbackEvent('CallConnected', `unknown-call-${randomUUID()}`);
      expect((await postJson(`${t.baseUrl}${CALLBACKS}`, [event])).body).toMatchObject({ accepted: 1 });
      const resent = await postJson(`${t.baseUrl}${CALLBACKS}`, [event]);
      expect(resent.status).toBe(200);
      expect(resent.body).toEqual({ accepted: 0, duplicates: 1, unknown: 0, rejected: [] });
    });
  });

  describe('bad input on both webhooks: a 4xx problem naming the problem, never a 500', () => {
    const webhooks = [
      ['callbacks', CALLBACKS],
      ['incoming', INCOMING],
    ] as const;

    const malformed = [
      {
        hook: 'callbacks',
        path: CALLBACKS,
        what: 'truncated JSON',
        type: 'application/json',
        body: '[{"id": "x", ',
      },
      {
        hook: 'incoming',
        path: INCOMING,
        what: 'truncated JSON',
        type: 'application/json',
        body: '[{"id": "x", ',
      },
      {
        hook: 'callbacks',
        path: CALLBACKS,
        what: 'truncated JSON',
        type: 'application/cloudevents-batch+json',
        body: '[{"id"',
      },
      {
        hook: 'incoming',
        path: INCOMING,
        what: 'truncated JSON',
        type: 'application/cloudevents-batch+json',
        body: '[{"id"',
      },
      { hook: 'callbacks', path: CALLBACKS, what: 'an empty body', type: 'application/json', body: '' },
      { hook: 'incoming', path: INCOMING, what: 'an empty body', type: 'application/json', body: '' },
    ];

    it.each(malformed)(
      '$hook: $what as $type → 400 problem naming the JSON problem',
      async ({ path, type, body }) => {
        const res = await postJson(`${t.baseUrl}${path}`, body, { 'content-type': type });
        expectProblem(res, 400);
        expect(res.body.detail).toMatch(body ? /not valid JSON/ : /cannot be empty/);
      },
    );

    it.each(malformed)('$hook: $what as $type → code MALFORMED_JSON', async ({ path, type, body }) => {
      const res = await postJson(`${t.baseUrl}${path}`, body, { 'content-type': type });
      expectProblem(res, 400, 'MALFORMED_JSON');
    });

    it.each(webhooks)('%s: a JSON string, number or null body → 400 BAD_REQUEST', async (_name, path) => {
      for (const body of ['"hello"', '42', 'true', 'null']) {
        const res = await postJson(`${t.baseUrl}${path}`, body);
        expectProblem(res, 400, 'BAD_REQUEST');
      }
    });

    it.each(webhooks)('%s: an empty array → 400 BAD_REQUEST', async (_name, path) => {
      const res = await postJson(`${t.baseUrl}${path}`, []);
      expectProblem(res, 400, 'BAD_REQUEST');
      expect(res.body.detail).toMatch(/empty|non-empty/);
    });

    it('callbacks: every element invalid → 400 whose detail names each reason', async () => {
      const { id: _id, ...withoutId } = callbackEvent('CallConnected', 'c-1');
      const withoutConnection = callbackEvent('CallConnected', 'c-2');
      delete (withoutConnection.data as { callConnectionId?: string }).callConnectionId;
      const res = await postJson(`${t.baseUrl}${CALLBACKS}`, [withoutId, withoutConnection, 7]);
      expectProblem(res, 400, 'BAD_REQUEST');
      expect(res.body.detail).toBe(
        'no valid event: #0 element has no id; #1 data.callConnectionId is missing; #2 element is not an object',
      );
      expect(res.body.errors).toEqual([
        { index: 0, reason: 'element has no id' },
        { index: 1, reason: 'data.callConnectionId is missing' },
        { index: 2, reason: 'element is not an object' },
      ]);
    });

    it('incoming: every event invalid → 400 listing each reason', async () => {
      const { id: _id, ...withoutId } = incomingCallEvent();
      const withoutContext = incomingCallEvent();
      delete (withoutContext.data as { incomingCallContext?: string }).incomingCallContext;
      const res = await postJson(`${t.baseUrl}${INCOMING}`, [withoutId, withoutContext]);
      expectProblem(res, 400, 'BAD_REQUEST');
      expect(res.body.detail).toBe(
        'no valid event: #0 event needs an id and an eventType (or CloudEvents type); #1 IncomingCall without data.incomingCallContext',
      );
      expect(res.body.errors).toEqual([
        { index: 0, reason: 'event needs an id and an eventType (or CloudEvents type)' },
        { index: 1, reason: 'IncomingCall without data.incomingCallContext' },
      ]);
      expect(fake.requests.filter((r) => r.path.endsWith(':answer'))).toHaveLength(0);
    });

    it.each(webhooks)('%s: a text/plain body → 4xx problem, never handled as events', async (_name, path) => {
      const res = await postJson(`${t.baseUrl}${path}`, JSON.stringify([validationEvent()]), {
        'content-type': 'text/plain',
      });
      expectProblem(res, res.status);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.validationResponse).toBeUndefined();
    });

    it.each(webhooks)('%s: text/plain → 415 UNSUPPORTED_MEDIA_TYPE', async (_name, path) => {
      const res = await postJson(`${t.baseUrl}${path}`, JSON.stringify([validationEvent()]), {
        'content-type': 'text/plain',
      });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it.each(webhooks)('%s: application/xml → 415 UNSUPPORTED_MEDIA_TYPE', async (_name, path) => {
      const res = await postJson(`${t.baseUrl}${path}`, '<events/>', { 'content-type': 'application/xml' });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it.each(webhooks)('%s: a body over the body limit → 413 PAYLOAD_TOO_LARGE', async (_name, path) => {
      const huge = JSON.stringify([{ id: 'big', padding: 'x'.repeat(BODY_LIMIT_BYTES) }]);
      expect(Buffer.byteLength(huge)).toBeGreaterThan(BODY_LIMIT_BYTES);
      const res = await postJson(`${t.baseUrl}${path}`, huge);
      expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('callbacks: more than 100 elements → 413 PAYLOAD_TOO_LARGE, none accepted', async () => {
      const batch = Array.from({ length: 101 }, () => callbackEvent('CallConnected', `c-${randomUUID()}`));
      const res = await postJson(`${t.baseUrl}${CALLBACKS}`, batch);
      expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
      expect(res.body.detail).toMatch(/100/);
      // 100 elements are still fine, and none of the refused batch was accepted (no duplicates now).
      const ok = await postJson(`${t.baseUrl}${CALLBACKS}`, batch.slice(0, 100));
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ accepted: 100, duplicates: 0, unknown: 0, rejected: [] });
    });

    it('callbacks: an invalid session query parameter → 400 VALIDATION_FAILED', async () => {
      const res = await postJson(`${t.baseUrl}${CALLBACKS}?session=${encodeURIComponent('not a session!')}`, [
        callbackEvent('CallConnected', 'c-1'),
      ]);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.detail).toMatch(/session/);
    });

    it('afterwards the service is healthy and a valid callback is still accepted', async () => {
      const health = await fetch(`${t.baseUrl}/health`);
      expect(health.status).toBe(200);
      const res = await postJson(`${t.baseUrl}${CALLBACKS}`, [
        callbackEvent('CallConnected', `c-${randomUUID()}`),
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ accepted: 1, rejected: [] });
      expect(t.logs.lines.filter((l) => l.msg === 'unhandled error')).toEqual([]);
    });

    it('callbacks accept the application/cloudevents-batch+json and application/cloudevents+json media types', async () => {
      const batch = await postJson(
        `${t.baseUrl}${CALLBACKS}`,
        [callbackEvent('CallConnected', `c-${randomUUID()}`)],
        { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
      );
      expect(batch.status).toBe(200);
      expect(batch.body).toMatchObject({ accepted: 1 });
      const single = await postJson(
        `${t.baseUrl}${CALLBACKS}`,
        callbackEvent('CallConnected', `c-${randomUUID()}`),
        { 'content-type': 'application/cloudevents+json' },
      );
      expect(single.status).toBe(200);
      expect(single.body).toMatchObject({ accepted: 1 });
    });
  });
});

describe('ACS callback JWT (ACS_AUDIENCE set, keys from a local JWKS server)', () => {
  const fake = new AcsRestFake();
  const jwks = new JwksServer();
  let t: TestApp;
  beforeAll(async () => {
    await Promise.all([fake.start(), jwks.start()]);
    t = await startTestApp({
      ...acsEnv(fake),
      ACS_AUDIENCE: AUDIENCE,
      ACS_JWT_ISSUER: ISSUER,
      ACS_JWKS_URL: jwks.url,
    });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([fake.close(), jwks.close()]);
  });

  const post = (authorization?: string) =>
    postJson(
      `${t.baseUrl}${CALLBACKS}`,
      [callbackEvent('CallConnected', `c-${randomUUID()}`)],
      authorization ? { authorization } : {},
    );

  it('accepts a callback with a valid ACS token', async () => {
    const token = await jwks.token({}, { issuer: ISSUER, audience: AUDIENCE });
    const res = await post(`Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 1, rejected: [] });
  });

  it('rejects an expired token with 401 UNAUTHORIZED', async () => {
    // Expired beyond the verifier's clock tolerance (30 s).
    const token = await jwks.token({}, { issuer: ISSUER, audience: AUDIENCE, expiresIn: '-5m' });
    const res = await post(`Bearer ${token}`);
    expectProblem(res, 401, 'UNAUTHORIZED');
    expect(res.body.detail).toBe('invalid ACS token: expired');
  });

  it('rejects a token for another audience with 401 UNAUTHORIZED', async () => {
    const token = await jwks.token({}, { issuer: ISSUER, audience: 'another-acs-resource' });
    const res = await post(`Bearer ${token}`);
    expectProblem(res, 401, 'UNAUTHORIZED');
    expect(res.body.detail).toBe('invalid ACS token: aud claim mismatch');
  });

  it('rejects a token from another issuer with 401 UNAUTHORIZED', async () => {
    const token = await jwks.token({}, { issuer: 'https://impostor.example.com', audience: AUDIENCE });
    const res = await post(`Bearer ${token}`);
    expectProblem(res, 401, 'UNAUTHORIZED');
    expect(res.body.detail).toBe('invalid ACS token: iss claim mismatch');
  });

  it('rejects a token signed by a key the JWKS does not publish with 401 UNAUTHORIZED', async () => {
    const token = await jwks.token({}, { issuer: ISSUER, audience: AUDIENCE, otherKey: true });
    const res = await post(`Bearer ${token}`);
    expectProblem(res, 401, 'UNAUTHORIZED');
    expect(res.body.detail).toBe('invalid ACS token: signature does not verify');
  });

  it('rejects a missing or non-bearer Authorization header with 401 UNAUTHORIZED', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const res = await post(authorization);
      expectProblem(res, 401, 'UNAUTHORIZED');
      expect(res.body.detail).toBe('missing ACS bearer token');
    }
  });

  it('only the valid token got an event through', async () => {
    const accepted = t.logs.lines.filter(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('POST /api/v1/calls/callbacks'),
    );
    const statuses = accepted.map((l) => (l.res as { statusCode: number }).statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(6);
  });
});

describe('per-call callback token (CALLBACK_SIGNING_SECRET set)', () => {
  const fake = new AcsRestFake();
  let t: TestApp;
  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ ...acsEnv(fake), CALLBACK_SIGNING_SECRET: 'e2e-callback-signing-secret' });
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  /** Answers an IncomingCall through the Event Grid webhook; returns what ACS was told. */
  async function answerOne(): Promise<{ callConnectionId: string; sessionId: string; callbackUri: string }> {
    fake.reset();
    const res = await postJson(`${t.baseUrl}${INCOMING}`, [incomingCallEvent()]);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({
        status: 'answered',
        callConnectionId: expect.any(String),
        sessionId: expect.any(String),
      }),
    ]);
    const answer = fake.requests.find(
      (r) => r.method === 'POST' && r.path === '/calling/callConnections:answer',
    );
    expect(answer).toBeDefined();
    const callbackUri = answer!.body!.callbackUri as string;
    return { ...res.body.results[0], callbackUri };
  }

  it('hands ACS a callback URL on PUBLIC_BASE_URL carrying the session and its token', async () => {
    const { sessionId, callbackUri } = await answerOne();
    const url = new URL(callbackUri);
    expect(`${url.origin}${url.pathname}`).toBe(`${PUBLIC_BASE_URL}${CALLBACKS}`);
    expect(url.searchParams.get('session')).toBe(sessionId);
    expect(url.searchParams.get('token')).toMatch(/^[\w-]{43}$/);
  });

  it('accepts a callback posted to exactly that URL', async () => {
    const { callConnectionId, callbackUri } = await answerOne();
    const res = await postJson(rebase(callbackUri, t.baseUrl), [
      callbackEvent('CallConnected', callConnectionId),
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0, unknown: 0, rejected: [] });
    await until(async () => {
      const call = await fetch(`${t.baseUrl}/api/v1/calls/${callConnectionId}`);
      return ((await call.json()) as { status?: string }).status === 'connected';
    });
  });

  it('rejects a callback without the token (or without session and token) with 401', async () => {
    const { callConnectionId, sessionId } = await answerOne();
    const event = () => [callbackEvent('CallConnected', callConnectionId)];
    const noToken = await postJson(`${t.baseUrl}${CALLBACKS}?session=${sessionId}`, event());
    expectProblem(noToken, 401, 'UNAUTHORIZED');
    expect(noToken.body.detail).toBe('callback token missing or invalid for this session');
    const bare = await postJson(`${t.baseUrl}${CALLBACKS}`, event());
    expectProblem(bare, 401, 'UNAUTHORIZED');
  });

  it("rejects a callback carrying another session's token with 401", async () => {
    const first = await answerOne();
    const second = await answerOne();
    expect(second.sessionId).not.toBe(first.sessionId);
    const otherToken = new URL(second.callbackUri).searchParams.get('token')!;
    const res = await postJson(
      `${t.baseUrl}${CALLBACKS}?session=${first.sessionId}&token=${encodeURIComponent(otherToken)}`,
      [callbackEvent('CallConnected', first.callConnectionId)],
    );
    expectProblem(res, 401, 'UNAUTHORIZED');
    const tampered = new URL(first.callbackUri);
    tampered.searchParams.set('token', `${tampered.searchParams.get('token')}x`);
    expectProblem(
      await postJson(rebase(tampered.toString(), t.baseUrl), [
        callbackEvent('CallConnected', first.callConnectionId),
      ]),
      401,
      'UNAUTHORIZED',
    );
  });
});

describe('Event Grid webhook secret (EVENTGRID_SECRET set)', () => {
  const SECRET = 'e2e-event-grid-secret';
  const fake = new AcsRestFake();
  let t: TestApp;
  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ ...acsEnv(fake), EVENTGRID_SECRET: SECRET });
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  it('rejects a delivery without the code with 401', async () => {
    const res = await postJson(`${t.baseUrl}${INCOMING}`, [validationEvent()]);
    expectProblem(res, 401, 'UNAUTHORIZED');
    expect(res.body.detail).toBe('missing or wrong Event Grid code');
  });

  it('rejects a delivery with a wrong code with 401', async () => {
    for (const code of ['wrong', `${SECRET}x`, SECRET.slice(0, -1)]) {
      const res = await postJson(`${t.baseUrl}${INCOMING}?code=${code}`, [validationEvent()]);
      expectProblem(res, 401, 'UNAUTHORIZED');
    }
  });

  it('answers the subscription validation handshake with the right code', async () => {
    const code = `validation-${randomUUID()}`;
    const res = await postJson(`${t.baseUrl}${INCOMING}?code=${SECRET}`, [validationEvent(code)]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ validationResponse: code });
  });

  it('answers the CloudEvents OPTIONS handshake with the right code, echoing the origin', async () => {
    const res = await fetch(`${t.baseUrl}${INCOMING}?code=${SECRET}`, {
      method: 'OPTIONS',
      headers: { 'WebHook-Request-Origin': 'eventemitter.example.com' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('webhook-allowed-origin')).toBe('eventemitter.example.com');
  });

  it('refuses the OPTIONS handshake without the code (401) or without WebHook-Request-Origin (400)', async () => {
    const noCode = await request(`${t.baseUrl}${INCOMING}`, {
      method: 'OPTIONS',
      headers: { 'WebHook-Request-Origin': 'eventemitter.example.com' },
    });
    expectProblem(noCode, 401, 'UNAUTHORIZED');
    expect(noCode.headers.get('webhook-allowed-origin')).toBeNull();
    const noOrigin = await request(`${t.baseUrl}${INCOMING}?code=${SECRET}`, { method: 'OPTIONS' });
    expectProblem(noOrigin, 400, 'BAD_REQUEST');
    expect(noOrigin.body.detail).toBe('missing WebHook-Request-Origin header');
  });
});

describe('webhooks with ADMIN_API_KEY set', () => {
  const ADMIN_KEY = 'e2e-admin-api-key-0123456789';
  const fake = new AcsRestFake();
  let t: TestApp;
  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ ...acsEnv(fake), ADMIN_API_KEY: ADMIN_KEY });
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  it('lets Event Grid and ACS in without the admin bearer key', async () => {
    const code = `validation-${randomUUID()}`;
    const validation = await postJson(`${t.baseUrl}${INCOMING}`, [validationEvent(code)]);
    expect(validation.status).toBe(200);
    expect(validation.body).toEqual({ validationResponse: code });

    const handshake = await fetch(`${t.baseUrl}${INCOMING}`, {
      method: 'OPTIONS',
      headers: { 'WebHook-Request-Origin': 'eventemitter.example.com' },
    });
    expect(handshake.status).toBe(200);

    const callback = await postJson(`${t.baseUrl}${CALLBACKS}`, [
      callbackEvent('CallConnected', `c-${randomUUID()}`),
    ]);
    expect(callback.status).toBe(200);
    expect(callback.body).toMatchObject({ accepted: 1 });
  });

  it('still protects GET /api/v1/calls: 401 without the key, 200 with it', async () => {
    const without = await request(`${t.baseUrl}/api/v1/calls`, { method: 'GET' });
    expectProblem(without, 401, 'UNAUTHORIZED');
    const wrong = await request(`${t.baseUrl}/api/v1/calls`, {
      method: 'GET',
      headers: { authorization: 'Bearer not-the-admin-key-at-all' },
    });
    expectProblem(wrong, 401, 'UNAUTHORIZED');
    const withKey = await request(`${t.baseUrl}/api/v1/calls`, {
      method: 'GET',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(withKey.status).toBe(200);
    expect(withKey.body).toEqual({ calls: [] });
  });
});
