import { startTestApp, type TestApp } from '../support/test-app';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

describe('the service on port 0 (embedded defaults)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers liveness on /health', async () => {
    const res = await fetch(`${t.baseUrl}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', version: expect.any(String) });
  });

  it('reports readiness with every dependency on /ready', async () => {
    const res = await fetch(`${t.baseUrl}/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      ready: boolean;
      details: Record<string, { status: string; state: string }>;
    };
    expect(body).toMatchObject({ status: 'ok', ready: true });
    expect(body.details.sessionStore).toMatchObject({ status: 'up', state: 'up', driver: 'memory' });
    expect(body.details.calls).toMatchObject({ status: 'up', active: 0, capacity: 100, draining: false });
    expect(body.details['speech.stt']).toMatchObject({ status: 'up', driver: 'local' });
    expect(body.details['speech.tts']).toMatchObject({ status: 'up', driver: 'local' });
    expect(body.details['speech.vad']).toMatchObject({ status: 'up', driver: 'silero' });
    expect(body.details['speech.vad.inference']).toMatchObject({
      status: 'up',
      runsOn: 'worker',
      configured: 'worker',
      failures: 0,
    });
    expect(body.details['pool.pocketsphinx']).toMatchObject({ status: 'up', max: 4 });
  });

  it('lists scenarios and agents on the admin API', async () => {
    const scenarios = (await (await fetch(`${t.baseUrl}/api/v1/scenarios`)).json()) as {
      default: string;
      scenarios: Array<{ name: string }>;
    };
    expect(scenarios).toMatchObject({
      default: 'insurance',
      scenarios: [{ name: 'insurance', startAgent: 'authentication' }],
    });
    const agents = (await (await fetch(`${t.baseUrl}/api/v1/agents`)).json()) as {
      agents: Array<{ name: string }>;
    };
    expect(agents.agents.map((a) => a.name)).toEqual(['authentication', 'claims', 'policy']);
    const claims = await (await fetch(`${t.baseUrl}/api/v1/agents/claims`)).json();
    expect(claims).toMatchObject({
      name: 'claims',
      tools: ['record_claim', 'escalate_to_human', 'end_call'],
      handoffs: [{ to: 'policy', type: 'discrete' }],
    });
    expect((await fetch(`${t.baseUrl}/api/v1/agents/nobody`)).status).toBe(404);
    const insurance = await (await fetch(`${t.baseUrl}/api/v1/scenarios/insurance`)).json();
    expect(insurance).toMatchObject({
      name: 'insurance',
      handoffs: expect.arrayContaining([expect.objectContaining({ tool: 'handoff_to_claims' })]),
    });
  });

  it('shows the engine pools on /api/v1/pools with the warm minimum created at boot', async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/pools`);
    expect(res.status).toBe(200);
    const { pools } = (await res.json()) as { pools: Array<Record<string, unknown>> };
    expect(pools).toEqual([
      expect.objectContaining({ name: 'pocketsphinx', max: 4, inUse: 0, idle: 1, created: 1, waiting: 0 }),
      // One flite worker may be busy: the greeting and phrases are pre-synthesized in the background.
      expect.objectContaining({ name: 'flite', max: 4, created: 2, waiting: 0, destroyed: 0 }),
    ]);
  });

  it('publishes OpenAPI at /docs-json with the session endpoints, and the UI at /docs', async () => {
    const doc = (await (await fetch(`${t.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/sessions',
        '/api/v1/sessions/{id}',
        '/api/v1/pools',
        '/health',
        '/ready',
        '/metrics',
      ]),
    );
    expect(Object.keys(doc.paths['/api/v1/sessions/{id}'])).toEqual(
      expect.arrayContaining(['get', 'delete']),
    );
    const ui = await fetch(`${t.baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('serves Prometheus metrics on /metrics', async () => {
    await fetch(`${t.baseUrl}/health`);
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE voxline_http_server_duration_ms histogram$/m);
    expect(text).toMatch(/^voxline_calls_active\{[^}]*\} 0$/m);
    expect(text).toMatch(/^# TYPE voxline_event_loop_delay_ms gauge$/m);
  });

  it('writes one JSON request log line per request, with a traceId', async () => {
    await fetch(`${t.baseUrl}/api/v1/sessions?limit=3`, { headers: { 'x-request-id': 'req-e2e-1' } });
    const line = t.logs.find((l) => (l.req as { id?: string } | undefined)?.id === 'req-e2e-1');
    expect(line).toMatchObject({ level: 'info', msg: 'GET /api/v1/sessions 200', res: { statusCode: 200 } });
    expect(line?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(line?.time).toEqual(expect.any(String));
  });

  it('continues an inbound W3C traceparent: its trace id appears in the logs and on the SERVER span', async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/sessions/does-not-exist`, {
      headers: { traceparent: TRACEPARENT, 'x-request-id': 'req-trace' },
    });
    expect(res.status).toBe(404);
    const line = t.logs.find((l) => (l.req as { id?: string } | undefined)?.id === 'req-trace');
    expect(line?.traceId).toBe(TRACE_ID);
    const span = t.spans.getFinishedSpans().find((s) => s.spanContext().traceId === TRACE_ID);
    expect(span?.name).toBe('GET /api/v1/sessions/:id');
    expect(span?.attributes['http.response.status_code']).toBe(404);
  });

  it('answers errors as problem+json with a code and the request id', async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/sessions?limit=0`, {
      headers: { 'x-request-id': 'req-bad' },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      requestId: 'req-bad',
      detail: expect.stringMatching(/limit/),
    });
    const missing = await fetch(`${t.baseUrl}/api/v1/sessions/nope`);
    expect(await missing.json()).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
  });

  it('rejects malformed JSON bodies with 400 and oversized bodies with 413, and keeps serving', async () => {
    const bad = await fetch(`${t.baseUrl}/api/v1/sessions/x`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: '{"broken',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: 'MALFORMED_JSON',
      detail: expect.stringMatching(/not valid JSON/),
    });
    const big = await fetch(`${t.baseUrl}/api/v1/sessions/x`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(1_100_000) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((await fetch(`${t.baseUrl}/health`)).status).toBe(200);
  });

  it('shows a stored session with its history, context and turn metrics, and deletes it', async () => {
    const { SessionStore } = await import('../../src/session/session-store');
    const store = t.app.get(SessionStore);
    const s = await store.create({ callConnectionId: 'call-e2e' });
    await store.appendHistory(s.id, [{ role: 'caller', text: 'hello', at: new Date().toISOString() }]);
    await store.appendTurnMetrics(s.id, [{ turn: 1, at: new Date().toISOString(), e2e_latency_ms: 500 }]);
    const found = (await (await fetch(`${t.baseUrl}/api/v1/sessions?callConnectionId=call-e2e`)).json()) as {
      sessions: { id: string }[];
    };
    expect(found.sessions.map((x) => x.id)).toEqual([s.id]);
    const detail = await (await fetch(`${t.baseUrl}/api/v1/sessions/${s.id}`)).json();
    expect(detail).toMatchObject({
      id: s.id,
      history: [{ role: 'caller', text: 'hello' }],
      turns: [{ turn: 1, e2e_latency_ms: 500 }],
    });
    expect((await fetch(`${t.baseUrl}/api/v1/sessions/${s.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${t.baseUrl}/api/v1/sessions/${s.id}`)).status).toBe(404);
  });
});

describe('admin API key', () => {
  const KEY = 'test-admin-key-0123456789';
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: KEY });
  });
  afterAll(() => t.close());

  it('requires the bearer key on /api/v1 endpoints', async () => {
    const none = await fetch(`${t.baseUrl}/api/v1/sessions`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({
      code: 'UNAUTHORIZED',
      detail: expect.stringMatching(/missing bearer token/),
    });
    const wrong = await fetch(`${t.baseUrl}/api/v1/sessions`, {
      headers: { authorization: 'Bearer not-the-key-at-all' },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${t.baseUrl}/api/v1/sessions`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(right.status).toBe(200);
  });

  it('leaves probes, metrics and docs open', async () => {
    for (const path of ['/health', '/ready', '/metrics', '/docs-json']) {
      expect([path, (await fetch(`${t.baseUrl}${path}`)).status]).toEqual([path, 200]);
    }
  });

  it('never writes the key to the logs', async () => {
    await fetch(`${t.baseUrl}/api/v1/sessions`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(t.logs.raw.join('\n')).not.toContain(KEY);
  });
});
