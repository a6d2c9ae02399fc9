import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../../src/config';
import { runWithLogFields, setLogFields } from '../../../src/logging/log-context';
import { createRootLogger } from '../../../src/logging/logger';
import { maskPhone, maskPhoneNumbers, redactUrl, transcriptForLog } from '../../../src/logging/redact';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, raw, stream };
}

describe('redaction helpers', () => {
  it('masks phone numbers, keeping only the leading and two last digits', () => {
    expect(maskPhone('+14255550123')).toBe('+1********23');
    expect(maskPhoneNumbers('call from +44 20 7946 0958 to +14255550123')).toBe(
      'call from +4*********58 to +1********23',
    );
    expect(maskPhoneNumbers('order 12345 at 10:30')).toBe('order 12345 at 10:30');
  });

  it('masks credentials in URLs (webhook codes, speech keys, userinfo)', () => {
    expect(redactUrl('/api/v1/calls/incoming?code=s3cret&x=1')).toBe('/api/v1/calls/incoming?code=****&x=1');
    expect(redactUrl('wss://h/speech?Ocp-Apim-Subscription-Key=abc&lang=en')).toBe(
      'wss://h/speech?Ocp-Apim-Subscription-Key=****&lang=en',
    );
    expect(redactUrl('redis://user:pw@h:6379')).toBe('redis://****@h:6379');
  });

  it('hides caller text unless transcripts are enabled', () => {
    expect(transcriptForLog('my name is Alice', false)).toBe('[16 chars redacted]');
    expect(transcriptForLog('call me on +14255550123', true)).toBe('call me on +1********23');
  });
});

describe('root logger', () => {
  const config = loadConfig({ LOG_LEVEL: 'debug' }, { envFile: false });

  it('writes JSON lines with level, time and msg, and never writes credential headers', () => {
    const { lines, raw, stream } = capture();
    const log = createRootLogger(config, stream);
    log.info(
      { req: { headers: { authorization: 'Bearer abc.def', 'api-key': 'k-123', accept: '*/*' } } },
      'request',
    );
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request', service: 'voxline' });
    expect(typeof lines[0].time).toBe('string');
    expect(raw.join('')).not.toContain('abc.def');
    expect(raw.join('')).not.toContain('k-123');
    expect((lines[0].req as { headers: Record<string, string> }).headers.accept).toBe('*/*');
  });

  it('masks phone numbers in messages and string fields', () => {
    const { raw, stream } = capture();
    const log = createRootLogger(config, stream);
    log.info({ from: '+14255550123' }, 'incoming call from +14255550123');
    expect(raw.join('')).not.toContain('4255550123');
  });

  it('adds callConnectionId, sessionId, traceId and spanId from async context', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const provider = new BasicTracerProvider();
    const { lines, stream } = capture();
    const log = createRootLogger(config, stream);
    const span = provider.getTracer('t').startSpan('turn');
    await context.with(trace.setSpan(context.active(), span), () =>
      runWithLogFields({ callConnectionId: 'call-1' }, async () => {
        await new Promise((r) => setTimeout(r, 1));
        setLogFields({ sessionId: 'sess-1' });
        log.info('inside');
      }),
    );
    log.info('outside');
    expect(lines[0]).toMatchObject({
      callConnectionId: 'call-1',
      sessionId: 'sess-1',
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
    });
    expect(lines[1]).not.toHaveProperty('callConnectionId');
    expect(lines[1]).not.toHaveProperty('traceId');
    span.end();
    context.disable();
  });
});
