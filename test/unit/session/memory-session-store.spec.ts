import { MemorySessionStore } from '../../../src/session/memory-session-store';

describe('MemorySessionStore', () => {
  let now = Date.parse('2026-11-21T10:00:00Z');
  let store: MemorySessionStore;
  beforeEach(() => {
    now = Date.parse('2026-11-21T10:00:00Z');
    store = new MemorySessionStore(60, () => now);
  });
  afterEach(() => store.close());

  it('keeps history in append order with roles, agents and the interrupted flag', async () => {
    const s = await store.create({ scenario: 'insurance' });
    await store.appendHistory(s.id, [
      { role: 'agent', text: 'Hello, how can I help?', at: '2026-11-21T10:00:00Z', agent: 'auth' },
    ]);
    await store.appendHistory(s.id, [
      { role: 'caller', text: 'I want to report a claim', at: '2026-11-21T10:00:03Z' },
      { role: 'agent', text: 'Sure, first', at: '2026-11-21T10:00:05Z', agent: 'auth', interrupted: true },
    ]);
    const detail = await store.get(s.id);
    expect(detail?.history.map((h) => h.text)).toEqual([
      'Hello, how can I help?',
      'I want to report a claim',
      'Sure, first',
    ]);
    expect(detail?.history[2].interrupted).toBe(true);
    expect(detail?.scenario).toBe('insurance');
  });

  it('merges context values and appends turn metrics', async () => {
    const s = await store.create({});
    await store.setContext(s.id, { callerName: 'Alice Brown', authenticated: false });
    await store.setContext(s.id, { authenticated: true });
    await store.appendTurnMetrics(s.id, [{ turn: 1, at: 'x', e2e_latency_ms: 640, overhead_ms: 3 }]);
    const detail = await store.get(s.id);
    expect(detail?.context).toEqual({ callerName: 'Alice Brown', authenticated: true });
    expect(detail?.turns).toEqual([{ turn: 1, at: 'x', e2e_latency_ms: 640, overhead_ms: 3 }]);
  });

  it('returns copies, so a caller mutating a result does not change the stored session', async () => {
    const s = await store.create({});
    await store.setContext(s.id, { a: 1 });
    const d = await store.get(s.id);
    d!.context.a = 2;
    expect((await store.get(s.id))?.context.a).toBe(1);
  });

  it('lists the most recent sessions first and finds a session by call connection id', async () => {
    const a = await store.create({ callConnectionId: 'call-a' });
    now += 1000;
    const b = await store.create({ callConnectionId: 'call-b' });
    expect((await store.list({ limit: 10 })).map((r) => r.id)).toEqual([b.id, a.id]);
    expect((await store.list({ limit: 1 })).map((r) => r.id)).toEqual([b.id]);
    expect((await store.list({ limit: 10, callConnectionId: 'call-a' })).map((r) => r.id)).toEqual([a.id]);
  });

  it('expires a session after the TTL since its last write', async () => {
    const s = await store.create({});
    now += 50_000;
    await store.appendHistory(s.id, [{ role: 'caller', text: 'hi', at: 'x' }]);
    now += 50_000; // 100 s after creation but 50 s after the last write
    expect(await store.get(s.id)).toBeDefined();
    now += 11_000;
    expect(await store.get(s.id)).toBeUndefined();
    expect(await store.list({ limit: 10 })).toEqual([]);
  });

  it('deletes a session and reports whether it existed', async () => {
    const s = await store.create({});
    expect(await store.delete(s.id)).toBe(true);
    expect(await store.delete(s.id)).toBe(false);
    expect(await store.get(s.id)).toBeUndefined();
  });

  it('maps a call to its session with settings, with a TTL', async () => {
    await store.mapCall('call-1', 'sess-1', { direction: 'outbound', scenario: 'insurance', record: true });
    expect(await store.findCall('call-1')).toEqual({
      callConnectionId: 'call-1',
      sessionId: 'sess-1',
      settings: { direction: 'outbound', scenario: 'insurance', record: true },
    });
    now += 61_000;
    expect(await store.findCall('call-1')).toBeUndefined();
  });

  it('claims a key once within its TTL (webhook de-duplication)', async () => {
    expect(await store.claimOnce('evt-1', 10)).toBe(true);
    expect(await store.claimOnce('evt-1', 10)).toBe(false);
    now += 10_001;
    expect(await store.claimOnce('evt-1', 10)).toBe(true);
  });
});
