import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

export const TRACER_NAME = 'voxline';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** Status ERROR plus an `error` event carrying error.type / error.message (and the exception event). */
export function recordSpanError(span: Span, err: unknown): void {
  const type = errorType(err);
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', type);
  span.addEvent('error', { 'error.type': type, 'error.message': message });
  if (err instanceof Error) span.recordException(err);
}

function errorType(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    if (err instanceof Error) return err.name;
  }
  return typeof err;
}

/** Reads W3C traceparent/tracestate/baggage from inbound headers (HTTP requests, WS upgrades). */
export function extractContext(
  headers: Record<string, string | string[] | undefined>,
  parent: Context = context.active(),
): Context {
  return propagation.extract(parent, headers);
}

/** Writes the active trace context into outbound headers. */
export function injectContext(
  headers: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, headers);
  return headers;
}

export interface SpanOptions {
  attributes?: Attributes;
  /** Parent context; defaults to the active one. */
  parent?: Context;
  /** Start a new trace even if a span is active (e.g. the root span of a call). */
  root?: boolean;
}

async function runInSpan<T>(
  kind: SpanKind,
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions,
): Promise<T> {
  const span = tracer().startSpan(
    name,
    { kind, attributes: options.attributes, root: options.root },
    options.parent ?? context.active(),
  );
  const ctx = trace.setSpan(options.parent ?? context.active(), span);
  try {
    return await context.with(ctx, () => fn(span));
  } catch (err) {
    recordSpanError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Inbound request handled by us (HTTP, WS accept). */
export const withServerSpan = <T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions = {},
) => runInSpan(SpanKind.SERVER, name, fn, options);

/** Outbound call to a vendor (ACS, Speech, LLM, Redis). */
export const withClientSpan = <T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions = {},
) => runInSpan(SpanKind.CLIENT, name, fn, options);

/** Work of our own worth a span: a turn, a VAD segment. Never per audio frame. */
export const withInternalSpan = <T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions = {},
) => runInSpan(SpanKind.INTERNAL, name, fn, options);

/** Starts a span the caller ends itself (long-lived: a call's root span, a turn driven by events). */
export function startSpan(name: string, kind: SpanKind, options: SpanOptions = {}): Span {
  return tracer().startSpan(
    name,
    { kind, attributes: options.attributes, root: options.root },
    options.parent ?? context.active(),
  );
}

/** The ids of the active span, for log correlation. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId };
}
