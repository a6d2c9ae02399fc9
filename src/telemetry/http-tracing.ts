import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { extractContext, tracer } from './spans';

const SPAN = Symbol('voxline.serverSpan');
type TracedRequest = IncomingMessage & { [SPAN]?: Span };

/** The path of a request URL, without its query (which may carry secrets). */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The SERVER span of an inbound HTTP request or WS upgrade, if one was started for it. */
export function serverSpanOf(req: IncomingMessage): Span | undefined {
  return (req as TracedRequest)[SPAN];
}

/**
 * A Fastify `serverFactory`: every HTTP request and WebSocket upgrade runs inside a SERVER span whose
 * parent is the caller's W3C traceparent (when sent), so handlers, logs and client spans below share
 * the caller's trace id. Done at the http.Server level because OTel context must wrap the whole
 * request lifecycle, which Fastify hooks cannot do.
 */
export function tracedServerFactory(handler: RequestListener): Server {
  const server = createServer((req: TracedRequest, res: ServerResponse) => {
    const parent = extractContext(req.headers, ROOT_CONTEXT);
    const span = tracer().startSpan(
      `${req.method ?? 'GET'} ${pathOf(req.url)}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': pathOf(req.url) },
      },
      parent,
    );
    req[SPAN] = span;
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500)
        span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.statusCode}` });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => handler(req, res));
  });

  // WebSocket upgrades bypass the request listener: wrap the 'upgrade' emit so the WS gateway's
  // connection handler runs inside a SERVER span continuing the upgrade request's traceparent.
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'upgrade') return emit(event, ...args);
    const req = args[0] as TracedRequest;
    const parent = extractContext(req.headers, ROOT_CONTEXT);
    const span = tracer().startSpan(
      `WS ${pathOf(req.url)}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'url.path': pathOf(req.url), 'network.protocol.name': 'websocket' },
      },
      parent,
    );
    req[SPAN] = span;
    try {
      return context.with(trace.setSpan(parent, span), () => emit(event, ...args));
    } finally {
      span.end();
    }
  }) as typeof server.emit;
  return server;
}
