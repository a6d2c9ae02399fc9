import { AddressInfo } from 'node:net';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from '../../../src/config';
import { tracedServerFactory } from '../../../src/telemetry/http-tracing';
import { withClientSpan, withInternalSpan, withServerSpan } from '../../../src/telemetry/spans';
import { Telemetry } from '../../../src/telemetry/telemetry';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('tracing', () => {
  const spans = new InMemorySpanExporter();
  let telemetry: Telemetry;
  beforeAll(() => {
    telemetry = Telemetry.start(loadConfig({ OTEL_SERVICE_NAME: 'voxline-test' }, { envFile: false }), {
      spanExporter: spans,
      instanceId: 'i-1',
    });
  });
  afterAll(() => telemetry.shutdown());
  beforeEach(() => spans.reset());

  it('puts service.name and service.instance.id on the resource', async () => {
    await withInternalSpan('x', () => undefined);
    const [span] = spans.getFinishedSpans();
    expect(span.resource.attributes['service.name']).toBe('voxline-test');
    expect(span.resource.attributes['service.instance.id']).toBe('i-1');
  });

  it('nests CLIENT spans under the INTERNAL span that is active', async () => {
    await withInternalSpan('turn', () =>
      withClientSpan('llm.stream', () => 'ok', { attributes: { 'peer.service': 'openai' } }),
    );
    const [client, internal] = spans.getFinishedSpans();
    expect(internal.kind).toBe(SpanKind.INTERNAL);
    expect(client.kind).toBe(SpanKind.CLIENT);
    expect(client.parentSpanContext?.spanId).toBe(internal.spanContext().spanId);
    expect(client.attributes['peer.service']).toBe('openai');
  });

  it('marks a failing span ERROR with an event carrying error.type and error.message, and rethrows', async () => {
    const err = Object.assign(new Error('upstream 503'), { code: 'PROVIDER_ERROR' });
    await expect(withServerSpan('ws accept', () => Promise.reject(err))).rejects.toBe(err);
    const [span] = spans.getFinishedSpans();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'upstream 503' });
    expect(span.attributes['error.type']).toBe('PROVIDER_ERROR');
    const event = span.events.find((e) => e.name === 'error');
    expect(event?.attributes).toEqual({ 'error.type': 'PROVIDER_ERROR', 'error.message': 'upstream 503' });
  });

  it('continues the caller traceparent on HTTP requests and WebSocket upgrades', async () => {
    const seen: Record<string, string | undefined> = {};
    const server = tracedServerFactory((_req, res) => {
      seen.http = trace.getActiveSpan()?.spanContext().traceId;
      res.end('ok');
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      seen.upgrade = trace.getActiveSpan()?.spanContext().traceId;
      wss.handleUpgrade(req, socket, head, (ws) => {
        seen.connection = trace.getSpan(context.active())?.spanContext().traceId;
        ws.close();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/things?code=x`, {
      headers: { traceparent: TRACEPARENT },
    });
    expect(await res.text()).toBe('ok');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/media/stream`, {
      headers: { traceparent: TRACEPARENT },
    });
    await new Promise((r) => ws.once('close', r));
    server.close();
    expect(seen).toEqual({ http: TRACE_ID, upgrade: TRACE_ID, connection: TRACE_ID });
    const server_spans = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(server_spans.map((s) => s.name).sort()).toEqual(['GET /api/v1/things', 'WS /api/v1/media/stream']);
    expect(server_spans.every((s) => s.spanContext().traceId === TRACE_ID)).toBe(true);
  });

  it('exposes metrics in the Prometheus text format', async () => {
    const text = await telemetry.prometheusText();
    expect(text).toMatch(/^# HELP target_info/m);
    expect(text).toContain('service_instance_id="i-1"');
  });
});
