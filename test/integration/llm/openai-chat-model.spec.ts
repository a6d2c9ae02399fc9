import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { loadConfig } from '../../../src/config';
import { DomainError } from '../../../src/common/errors';
import { ConcurrencyLimiter } from '../../../src/llm/drivers/concurrency-limiter';
import {
  AzureOpenAiChatModel,
  OpenAiChatModel,
  type AzureOpenAiChatModelOptions,
  type OpenAiChatModelOptions,
} from '../../../src/llm/drivers/openai-chat-model';
import type { ChatEvent, ChatMessage, ChatModel, ToolSpec } from '../../../src/llm/ports';
import { Telemetry } from '../../../src/telemetry/telemetry';
import { OpenAiSseFake, textStream } from '../../fakes/openai-sse-server';
import { until } from '../../support/wait';

const OPENAI_KEY = 'sk-test-0123456789abcdef';
const AZURE_KEY = 'azure-key-fedcba9876543210';
const TIMEOUTS = { firstTokenMs: 1000, idleMs: 400, totalMs: 5000 };
const USER: ChatMessage[] = [{ role: 'user', content: 'Hello?' }];

let fake: OpenAiSseFake;
let logLines: string[];
const spans = new InMemorySpanExporter();
let telemetry: Telemetry;

beforeAll(async () => {
  fake = await new OpenAiSseFake().start();
  telemetry = Telemetry.start(loadConfig({ OTEL_SERVICE_NAME: 'voxline-test' }, { envFile: false }), {
    spanExporter: spans,
    instanceId: 'i-1',
  });
});
afterAll(async () => {
  await fake.close();
  await telemetry.shutdown();
});
beforeEach(() => {
  fake.reset();
  spans.reset();
  logLines = [];
});

const logger = () => pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
const limiter = (maxInFlight = 4, queueTimeoutMs = 1000) =>
  new ConcurrencyLimiter({ name: 'test-endpoint', maxInFlight, queueTimeoutMs });

/** Small bounds and a fresh limiter per model, so tests stay fast and independent. */
const common = () => ({
  timeouts: TIMEOUTS,
  maxRetries: 2,
  retryBaseDelayMs: 20,
  limiter: limiter(),
  logger: logger(),
});

function openai(overrides: Partial<OpenAiChatModelOptions> = {}): OpenAiChatModel {
  return new OpenAiChatModel({
    baseUrl: `${fake.url}/v1`,
    apiKey: OPENAI_KEY,
    model: 'gpt-test',
    ...common(),
    ...overrides,
  });
}

function azure(overrides: Partial<AzureOpenAiChatModelOptions> = {}): AzureOpenAiChatModel {
  return new AzureOpenAiChatModel({
    endpoint: fake.url,
    deployment: 'voice-gpt',
    apiVersion: '2024-10-21',
    apiKey: AZURE_KEY,
    ...common(),
    ...overrides,
  });
}

async function collect(
  model: ChatModel,
  messages: ChatMessage[] = USER,
  tools: ToolSpec[] = [],
  signal?: AbortSignal,
): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const e of model.stream(messages, tools, {}, signal)) events.push(e);
  return events;
}

const errorOf = (events: ChatEvent[]): DomainError => {
  const last = events[events.length - 1];
  if (last?.type !== 'error') throw new Error(`expected an error event last, got ${JSON.stringify(events)}`);
  return last.error;
};
const texts = (events: ChatEvent[]) => events.flatMap((e) => (e.type === 'text' ? [e.delta] : []));

const WEATHER_TOOL: ToolSpec = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('OpenAiChatModel against a local OpenAI-compatible SSE server', () => {
  it('streams text deltas, then usage, then a finish with its reason', async () => {
    fake.enqueue(textStream(['Hel', 'lo ', 'there.'], { prompt: 9, completion: 3 }));
    const events = await collect(openai());
    expect(events).toEqual([
      { type: 'text', delta: 'Hel' },
      { type: 'text', delta: 'lo ' },
      { type: 'text', delta: 'there.' },
      { type: 'usage', promptTokens: 9, completionTokens: 3, totalTokens: 12 },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('posts to {baseUrl}/chat/completions with a Bearer key and asks for a streamed answer with usage', async () => {
    fake.enqueue(textStream(['ok']));
    await collect(openai(), USER, [WEATHER_TOOL]);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.query).toEqual({});
    expect(req.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(req.headers['api-key']).toBeUndefined();
    expect(req.body).toMatchObject({
      model: 'gpt-test',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Hello?' }],
      tools: [{ type: 'function', function: WEATHER_TOOL }],
    });
  });

  it('sends a placeholder key when none is configured (local servers need none)', async () => {
    fake.enqueue(textStream(['ok']));
    await collect(openai({ apiKey: undefined }));
    expect(fake.requests[0].headers.authorization).toBe('Bearer not-needed');
  });

  it('maps assistant tool calls and tool results to the OpenAI message shapes', async () => {
    fake.enqueue(textStream(['Sunny in Oslo.']));
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a phone agent.' },
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
      },
      { role: 'tool', toolCallId: 'call_1', name: 'get_weather', content: '{"sky":"sunny"}' },
    ];
    await collect(openai(), messages, [WEATHER_TOOL]);
    expect(fake.requests[0].body.messages).toEqual([
      { role: 'system', content: 'You are a phone agent.' },
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
    ]);
  });

  it('assembles tool calls whose arguments arrive split and interleaved, and emits each once at finish', async () => {
    fake.enqueue({
      kind: 'stream',
      steps: [
        { toolCall: { index: 0, id: 'call_a', name: 'get_weather', arguments: '' } },
        { toolCall: { index: 0, arguments: '{"ci' } },
        { toolCall: { index: 1, id: 'call_b', name: 'get_weather', arguments: '{"city"' } },
        { toolCall: { index: 0, arguments: 'ty":"Oslo"}' } },
        { toolCall: { index: 1, arguments: ':"Bergen"}' } },
        { finish: 'tool_calls' },
        { usage: { prompt: 30, completion: 20 } },
      ],
    });
    const events = await collect(openai(), USER, [WEATHER_TOOL]);
    expect(events).toEqual([
      { type: 'tool_call', call: { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { type: 'tool_call', call: { id: 'call_b', name: 'get_weather', arguments: '{"city":"Bergen"}' } },
      { type: 'usage', promptTokens: 30, completionTokens: 20, totalTokens: 50 },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('retries a 429 before the first token after the retry-after-ms the provider asked for', async () => {
    fake.enqueue(
      {
        kind: 'error',
        status: 429,
        headers: { 'retry-after-ms': '300' },
        body: { error: { message: 'slow down' } },
      },
      textStream(['after the wait']),
    );
    const started = Date.now();
    const events = await collect(openai());
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(texts(events)).toEqual(['after the wait']);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
    expect(fake.requests).toHaveLength(2);
  });

  it('retries a 500 and a refused connection with backoff, then gives up with PROVIDER_ERROR', async () => {
    fake.enqueue(
      { kind: 'error', status: 500 },
      { kind: 'error', status: 502 },
      { kind: 'error', status: 503 },
    );
    const events = await collect(openai({ maxRetries: 2 }));
    expect(errorOf(events)).toMatchObject({ code: 'PROVIDER_ERROR', details: { status: 503 } });
    expect(fake.requests).toHaveLength(3);

    const closed = await new OpenAiSseFake().start();
    const deadUrl = closed.url;
    await closed.close();
    const refused = await collect(openai({ baseUrl: `${deadUrl}/v1`, maxRetries: 1 }));
    expect(errorOf(refused)).toMatchObject({ code: 'PROVIDER_ERROR', message: 'openai: connection failed' });
  });

  it('does not wait for a retry-after longer than maxRetryDelayMs and returns the 429 at once', async () => {
    fake.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '30' } });
    const started = Date.now();
    const events = await collect(openai({ maxRetryDelayMs: 1000 }));
    expect(Date.now() - started).toBeLessThan(500);
    expect(errorOf(events)).toMatchObject({ code: 'PROVIDER_ERROR', details: { status: 429 } });
    expect(fake.requests).toHaveLength(1);
  });

  it('fails a 400 with the status and the provider message, without retrying', async () => {
    fake.enqueue({
      kind: 'error',
      status: 400,
      body: { error: { message: "Invalid value for 'temperature'", code: 'invalid_value' } },
    });
    const err = errorOf(await collect(openai()));
    expect(err).toBeInstanceOf(DomainError);
    expect(err.code).toBe('PROVIDER_ERROR');
    expect(err.message).toBe("openai returned 400: Invalid value for 'temperature'");
    expect(err.details).toMatchObject({ status: 400, providerCode: 'invalid_value' });
    expect(fake.requests).toHaveLength(1);
  });

  it('ends with an error event, and no retry, when the connection drops after the first token', async () => {
    fake.enqueue(
      { kind: 'stream', steps: [{ text: 'Half a sen' }], end: 'destroy' },
      textStream(['never sent']),
    );
    const events = await collect(openai());
    expect(texts(events)).toEqual(['Half a sen']);
    expect(errorOf(events).code).toBe('PROVIDER_ERROR');
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a stream that drops before its first token, as nothing reached the caller yet', async () => {
    fake.enqueue({ kind: 'stream', steps: [], end: 'destroy' }, textStream(['recovered']));
    const events = await collect(openai());
    expect(texts(events)).toEqual(['recovered']);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
    expect(fake.requests).toHaveLength(2);
  });

  it('ends with an error event when the provider sends an error object mid-stream', async () => {
    fake.enqueue({
      kind: 'stream',
      steps: [
        { text: 'Hi' },
        { chunk: { error: { message: 'The server had an error', type: 'server_error' } } },
      ],
    });
    const events = await collect(openai());
    expect(texts(events)).toEqual(['Hi']);
    expect(errorOf(events)).toMatchObject({
      code: 'PROVIDER_ERROR',
      message: 'openai stream error: The server had an error',
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('times out with PROVIDER_TIMEOUT when the stream stalls after the first chunk', async () => {
    fake.enqueue({ kind: 'stream', steps: [{ text: 'Let me check' }], end: 'stall' });
    const started = Date.now();
    const events = await collect(openai({ timeouts: { ...TIMEOUTS, idleMs: 300 } }));
    const elapsed = Date.now() - started;
    expect(texts(events)).toEqual(['Let me check']);
    expect(errorOf(events)).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      message: 'openai: stream idle within 300 ms',
    });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
    await until(() => fake.requests[0].closedByClient);
  });

  it('times out with PROVIDER_TIMEOUT, without retrying, when no token arrives in time', async () => {
    fake.enqueue({ kind: 'stream', steps: [], end: 'stall' }, { kind: 'hang' });
    const started = Date.now();
    const events = await collect(openai({ timeouts: { ...TIMEOUTS, firstTokenMs: 300 } }));
    expect(errorOf(events)).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      message: 'openai: no first token within 300 ms',
    });
    expect(Date.now() - started).toBeLessThan(1500);

    // Headers never sent at all: the same deadline, although the client's own timeout is far away.
    const hung = await collect(openai({ timeouts: { ...TIMEOUTS, firstTokenMs: 300 } }));
    expect(errorOf(hung).code).toBe('PROVIDER_TIMEOUT');
    expect(fake.requests).toHaveLength(2);
  });

  it('bounds the whole call by totalMs even while tokens keep coming', async () => {
    const steps = Array.from({ length: 40 }, (_, i) => ({ text: `${i} ` }));
    fake.enqueue({ kind: 'stream', steps, stepDelayMs: 50 });
    const started = Date.now();
    const events = await collect(openai({ timeouts: { firstTokenMs: 1000, idleMs: 400, totalMs: 500 } }));
    expect(errorOf(events).code).toBe('PROVIDER_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1200);
  });

  it('ends promptly with TIMEOUT "aborted" and aborts the HTTP request when the caller aborts mid-stream', async () => {
    fake.enqueue({ kind: 'stream', steps: [{ text: 'One' }, { delayMs: 5000 }, { text: 'never' }] });
    const ac = new AbortController();
    const events: ChatEvent[] = [];
    let abortedAt = 0;
    for await (const e of openai().stream(USER, [], {}, ac.signal)) {
      events.push(e);
      if (e.type === 'text') {
        abortedAt = Date.now();
        ac.abort();
      }
    }
    expect(Date.now() - abortedAt).toBeLessThan(500);
    expect(events).toEqual([
      { type: 'text', delta: 'One' },
      { type: 'error', error: new DomainError('TIMEOUT', 'aborted') },
    ]);
    expect(errorOf(events).code).toBe('TIMEOUT');
    await until(() => fake.requests[0].closedByClient);
  });

  it('sends no request when the signal is already aborted', async () => {
    const events = await collect(openai(), USER, [], AbortSignal.abort());
    expect(errorOf(events)).toMatchObject({ code: 'TIMEOUT', message: 'aborted' });
    expect(fake.requests).toHaveLength(0);
  });

  it('aborts the HTTP request when the consumer stops reading early', async () => {
    fake.enqueue({ kind: 'stream', steps: [{ text: 'One' }, { delayMs: 5000 }, { text: 'never' }] });
    const lim = limiter(1);
    for await (const e of openai({ limiter: lim }).stream(USER, [], {})) {
      if (e.type === 'text') break;
    }
    expect(lim.stats().inFlight).toBe(0);
    await until(() => fake.requests[0].closedByClient);
  });

  it('ends with PROVIDER_ERROR on a malformed chunk', async () => {
    fake.enqueue({
      kind: 'stream',
      steps: [{ text: 'Hi' }, { raw: 'data: {"choices": [\n\n' }, { finish: 'stop' }],
    });
    const events = await collect(openai());
    expect(texts(events)).toEqual(['Hi']);
    expect(errorOf(events)).toMatchObject({
      code: 'PROVIDER_ERROR',
      message: 'openai: malformed stream chunk',
    });
  });

  it('ends with PROVIDER_ERROR when the stream ends without a finish reason', async () => {
    fake.enqueue({ kind: 'stream', steps: [{ text: 'Cut' }], end: 'done' });
    const events = await collect(openai());
    expect(texts(events)).toEqual(['Cut']);
    expect(errorOf(events)).toMatchObject({
      code: 'PROVIDER_ERROR',
      message: 'openai: stream ended without a finish reason',
    });

    fake.enqueue({ kind: 'stream', steps: [{ text: 'Cut' }], end: 'close' });
    expect(errorOf(await collect(openai())).code).toBe('PROVIDER_ERROR');
  });

  it('refuses with CAPACITY_EXCEEDED when the endpoint limiter has no slot within its queue timeout', async () => {
    fake.enqueue({ kind: 'stream', steps: [{ text: 'busy' }, { delayMs: 300 }, { finish: 'stop' }] });
    const shared = limiter(1, 150);
    const a = openai({ limiter: shared });
    const b = openai({ limiter: shared });
    const first = collect(a);
    await until(() => fake.requests.length === 1);
    const second = await collect(b);
    expect(errorOf(second)).toMatchObject({ code: 'CAPACITY_EXCEEDED' });
    expect((await first).at(-1)).toEqual({ type: 'finish', reason: 'stop' });
    expect(fake.requests).toHaveLength(1);
    expect(shared.stats()).toMatchObject({ inFlight: 0, queued: 0, rejected: 1 });
  });

  it('records one CLIENT span per stream with model, usage and time to first token', async () => {
    fake.enqueue(textStream(['a', 'b', 'c', 'd'], { prompt: 7, completion: 4 }));
    await collect(openai());
    const finished = spans.getFinishedSpans();
    expect(finished).toHaveLength(1);
    const [span] = finished;
    expect(span.name).toBe('chat gpt-test');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toMatchObject({
      'peer.service': 'openai',
      'gen_ai.request.model': 'gpt-test',
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 4,
      'llm.attempts': 1,
    });
    expect(span.attributes['llm.ttft_ms']).toEqual(expect.any(Number));
    expect(span.events).toHaveLength(0);
  });

  it('marks the span ERROR with the domain error code when the stream fails', async () => {
    fake.enqueue({ kind: 'error', status: 404, body: { error: { message: 'model not found' } } });
    await collect(azure());
    const [span] = spans.getFinishedSpans();
    expect(span.attributes['peer.service']).toBe('azure-openai');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('PROVIDER_ERROR');
  });

  it('never writes the API key to the logs or into error messages', async () => {
    fake.enqueue(
      {
        kind: 'error',
        status: 401,
        body: { error: { message: `Incorrect API key provided: ${OPENAI_KEY}` } },
      },
      { kind: 'error', status: 500, body: { error: { message: `upstream said ${OPENAI_KEY}` } } },
      { kind: 'error', status: 500 },
      { kind: 'error', status: 500 },
    );
    const unauthorized = errorOf(await collect(openai()));
    const failed = errorOf(await collect(openai()));
    expect(unauthorized.details).toMatchObject({ status: 401 });
    expect(logLines.join('\n')).toContain('chat stream failed');
    for (const text of [...logLines, unauthorized.message, failed.message])
      expect(text).not.toContain(OPENAI_KEY);
  });
});

describe('AzureOpenAiChatModel against a local Azure OpenAI SSE server', () => {
  it('posts to /openai/deployments/{deployment}/chat/completions with api-version and the api-key header', async () => {
    fake.enqueue(textStream(['Hi from Azure']));
    const events = await collect(azure());
    expect(texts(events)).toEqual(['Hi from Azure']);
    const [req] = fake.requests;
    expect(req.path).toBe('/openai/deployments/voice-gpt/chat/completions');
    expect(req.query).toEqual({ 'api-version': '2024-10-21' });
    expect(req.headers['api-key']).toBe(AZURE_KEY);
    expect(req.headers.authorization).toBeUndefined();
    expect(req.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("skips Azure's choice-less prompt-filter chunk and streams the answer", async () => {
    fake.enqueue({
      kind: 'stream',
      roleChunk: false,
      steps: [
        { chunk: { id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [] } },
        { text: 'Filtered ' },
        { text: 'fine.' },
        { finish: 'stop' },
        { usage: { prompt: 5, completion: 2 } },
      ],
    });
    const events = await collect(azure());
    expect(texts(events)).toEqual(['Filtered ', 'fine.']);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('honours a retry-after in seconds on 429 before the first token', async () => {
    fake.enqueue(
      { kind: 'error', status: 429, headers: { 'retry-after': '1' }, body: { error: { code: '429' } } },
      textStream(['second time lucky']),
    );
    const started = Date.now();
    const events = await collect(azure());
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(texts(events)).toEqual(['second time lucky']);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests.every((r) => r.headers['api-key'] === AZURE_KEY)).toBe(true);
  });

  it('reports a content-filter finish as such', async () => {
    fake.enqueue({ kind: 'stream', steps: [{ text: 'I' }, { finish: 'content_filter' }] });
    expect((await collect(azure())).at(-1)).toEqual({ type: 'finish', reason: 'content_filter' });
  });

  it('ends with an error event, and no retry, on a 500 after the first token', async () => {
    fake.enqueue({ kind: 'stream', steps: [{ text: 'Par' }], end: 'destroy' });
    const events = await collect(azure());
    expect(texts(events)).toEqual(['Par']);
    expect(errorOf(events).code).toBe('PROVIDER_ERROR');
    expect(fake.requests).toHaveLength(1);
  });

  it('keeps the Azure key out of logs and errors', async () => {
    fake.enqueue({ kind: 'error', status: 401, body: { error: { message: `bad key ${AZURE_KEY}` } } });
    const err = errorOf(await collect(azure()));
    expect(err.details).toMatchObject({ status: 401 });
    for (const text of [...logLines, err.message]) expect(text).not.toContain(AZURE_KEY);
  });

  it('requires a key unless the managed identity is explicitly configured', () => {
    expect(() => azure({ apiKey: undefined })).toThrow(/apiKey is required/);
  });
});

describe('AzureOpenAiChatModel with the managed identity (App Service identity endpoint fake)', () => {
  let identity: Server;
  let identityMode: 'token' | 'hang';
  let tokenRequests: number;
  /** Hung token requests, answered after the tests: an error or a dropped socket makes MSAL retry for seconds. */
  const held: ServerResponse[] = [];
  const sendToken = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        access_token: 'mi-access-token',
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource: 'https://cognitiveservices.azure.com',
        token_type: 'Bearer',
      }),
    );
  };
  const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

  beforeAll(async () => {
    identity = createServer((_req, res) => {
      tokenRequests++;
      if (identityMode === 'hang') held.push(res);
      else sendToken(res);
    });
    await new Promise<void>((resolve) => identity.listen(0, '127.0.0.1', resolve));
    // MSAL picks the App Service identity source from these when the credential is constructed.
    process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${(identity.address() as AddressInfo).port}/msi/token`;
    process.env.IDENTITY_HEADER = 'identity-header';
  });
  afterAll(async () => {
    process.env.IDENTITY_ENDPOINT = saved.endpoint;
    process.env.IDENTITY_HEADER = saved.header;
    for (const res of held) sendToken(res);
    await new Promise((resolve) => identity.close(resolve));
  });
  beforeEach(() => {
    tokenRequests = 0;
    identityMode = 'token';
  });

  it('fetches no token at construction, then sends the token as a Bearer header and no api-key', async () => {
    const model = azure({ apiKey: undefined, useManagedIdentity: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(tokenRequests).toBe(0);
    fake.enqueue(textStream(['via identity']));
    expect(texts(await collect(model))).toEqual(['via identity']);
    expect(tokenRequests).toBe(1);
    expect(fake.requests[0].headers.authorization).toBe('Bearer mi-access-token');
    expect(fake.requests[0].headers['api-key']).toBeUndefined();
  });

  it('bounds a hanging token fetch with PROVIDER_TIMEOUT and sends no chat request', async () => {
    identityMode = 'hang';
    // Another identity: MSAL caches tokens process-wide, per identity, across credential instances.
    const model = azure({
      apiKey: undefined,
      useManagedIdentity: true,
      managedIdentityClientId: 'hanging-identity',
      tokenTimeoutMs: 200,
    });
    const started = Date.now();
    const err = errorOf(await collect(model));
    expect(err).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    expect(err.message).toMatch(/managed identity token timed out after 200 ms/);
    expect(Date.now() - started).toBeLessThan(900);
    expect(fake.requests).toHaveLength(0);
  });
});
