import pino from 'pino';
import { Writable } from 'node:stream';
import { CallbackProcessor } from '../../../src/calls/callback-processor';
import { CallUrls } from '../../../src/calls/call-urls';
import { CallEventBus } from '../../../src/calls/events/call-event-bus';
import { parseCallbackElement, type CallEvent } from '../../../src/calls/events/call-events';
import { CallbackSigner } from '../../../src/calls/security/callback-signer';
import { loadConfig } from '../../../src/config';
import { MemorySessionStore } from '../../../src/session/memory-session-store';

const event = (type: string, id: string, data: Record<string, unknown> = {}) => ({
  id,
  source: '/calling/events',
  type: `Microsoft.Communication.${type}`,
  specversion: '1.0',
  time: '2026-11-21T10:00:00Z',
  data: { callConnectionId: 'call-1', serverCallId: 'srv-1', correlationId: 'corr-1', ...data },
});

function logs() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString())), cb()) }),
  );
  return { lines, log };
}

describe('ACS callback parsing', () => {
  it('turns a CloudEvent into a typed event with its result information', () => {
    const parsed = parseCallbackElement(
      event('MediaStreamingFailed', 'e1', {
        resultInformation: { code: 500, subCode: 8583, message: 'media failed' },
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      event: expect.objectContaining({
        type: 'MediaStreamingFailed',
        id: 'e1',
        callConnectionId: 'call-1',
        serverCallId: 'srv-1',
        resultInformation: { code: 500, subCode: 8583, message: 'media failed' },
      }),
    });
  });

  it('says why an element is invalid, and recognises unknown event types', () => {
    expect(parseCallbackElement('x')).toEqual({ ok: false, reason: 'element is not an object' });
    expect(parseCallbackElement({ type: 'Microsoft.Communication.CallConnected' })).toEqual({
      ok: false,
      reason: 'element has no id',
    });
    expect(parseCallbackElement({ id: '1', type: 'Other.Thing', data: {} })).toMatchObject({
      ok: false,
      reason: 'type must start with Microsoft.Communication.',
    });
    expect(parseCallbackElement({ ...event('CallConnected', '2'), data: {} })).toMatchObject({
      ok: false,
      reason: 'data.callConnectionId is missing',
    });
    expect(parseCallbackElement(event('HoldRequested', '3'))).toMatchObject({
      ok: false,
      unknownType: 'HoldRequested',
    });
  });
});

describe('CallbackProcessor', () => {
  it('handles every element of a batch once, skipping ACS retries of the same event id', async () => {
    const store = new MemorySessionStore(600);
    const handled: CallEvent[] = [];
    const p = new CallbackProcessor(store, async (e) => void handled.push(e), logs().log);
    const first = await p.accept([
      event('CallConnected', 'a'),
      event('ParticipantsUpdated', 'b'),
      event('PlayCompleted', 'c'),
    ]);
    const retry = await p.accept([event('CallConnected', 'a')]);
    await p.drain(1000);
    expect(first).toEqual({ accepted: 3, duplicates: 0, unknown: 0, rejected: [] });
    expect(retry).toEqual({ accepted: 0, duplicates: 1, unknown: 0, rejected: [] });
    expect(handled.map((e) => e.type)).toEqual(['CallConnected', 'ParticipantsUpdated', 'PlayCompleted']);
    await store.close();
  });

  it('answers before a slow handler finishes, and still handles the event', async () => {
    const store = new MemorySessionStore(600);
    let done = false;
    const p = new CallbackProcessor(
      store,
      () => new Promise<void>((r) => setTimeout(() => ((done = true), r()), 100)),
      logs().log,
    );
    const receipt = await p.accept([event('CallDisconnected', 'slow')]);
    expect(receipt.accepted).toBe(1);
    expect(done).toBe(false);
    expect(await p.drain(2000)).toBe(true);
    expect(done).toBe(true);
    await store.close();
  });

  it('counts unknown types (logged once per type) and rejects invalid elements with reasons, keeping the rest', async () => {
    const store = new MemorySessionStore(600);
    const { lines, log } = logs();
    const handled: string[] = [];
    const p = new CallbackProcessor(store, async (e) => void handled.push(e.id), log);
    const receipt = await p.accept([
      event('HoldRequested', 'u1'),
      event('HoldRequested', 'u2'),
      42,
      event('CallConnected', 'ok'),
    ]);
    await p.drain(1000);
    expect(receipt).toEqual({
      accepted: 1,
      duplicates: 0,
      unknown: 2,
      rejected: [{ index: 2, reason: 'element is not an object' }],
    });
    expect(handled).toEqual(['ok']);
    expect(lines.filter((l) => l.eventType === 'HoldRequested')).toHaveLength(1);
    expect(p.counters).toMatchObject({ unknown: 2, rejected: 1, accepted: 1 });
    await store.close();
  });

  it('keeps going when a handler throws, counting the failure', async () => {
    const store = new MemorySessionStore(600);
    const p = new CallbackProcessor(store, () => Promise.reject(new Error('boom')), logs().log);
    await p.accept([event('CallConnected', 'x')]);
    await p.drain(1000);
    expect(p.counters.failed).toBe(1);
    await store.close();
  });
});

describe('CallEventBus', () => {
  it('delivers to type and wildcard listeners, isolating a failing listener', async () => {
    const bus = new CallEventBus();
    const seen: string[] = [];
    bus.on('CallDisconnected', () => {
      throw new Error('listener bug');
    });
    bus.on('CallDisconnected', (e) => void seen.push(`typed:${e.id}`));
    const off = bus.on('*', (e) => void seen.push(`all:${e.id}`));
    const parsed = parseCallbackElement(event('CallDisconnected', 'd1'));
    if (!parsed.ok) throw new Error('unexpected');
    await bus.publish(parsed.event);
    off();
    await bus.publish({ ...parsed.event, id: 'd2' });
    expect(seen).toEqual(['typed:d1', 'all:d1', 'typed:d2']);
  });
});

describe('CallUrls', () => {
  it('derives the callback URL (with the per-call token) and the wss media URL from PUBLIC_BASE_URL', () => {
    const config = loadConfig({ PUBLIC_BASE_URL: 'https://voxline.example.com' }, { envFile: false });
    const signer = new CallbackSigner('a-callback-signing-secret');
    const urls = new CallUrls(config, signer);
    const callback = new URL(urls.callbackUri('sess-1'));
    expect(`${callback.origin}${callback.pathname}`).toBe(
      'https://voxline.example.com/api/v1/calls/callbacks',
    );
    expect(callback.searchParams.get('session')).toBe('sess-1');
    expect(signer.verify('sess-1', callback.searchParams.get('token') ?? undefined)).toBe(true);
    expect(urls.mediaTransportUrl('sess-1')).toBe(
      'wss://voxline.example.com/api/v1/media/stream?session=sess-1',
    );
  });
});
