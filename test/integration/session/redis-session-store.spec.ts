import type { Redis } from 'ioredis';
import { RedisSessionStore } from '../../../src/session/redis-session-store';
import type { HistoryEntry } from '../../../src/session/session.types';
import { connectedStore, deletePrefix, inspector } from '../../support/redis';

const entry = (text: string, role: HistoryEntry['role'] = 'caller'): HistoryEntry => ({
  role,
  text,
  at: new Date().toISOString(),
});

describe('RedisSessionStore against the real Redis', () => {
  let store: RedisSessionStore;
  let prefix: string;
  let redis: Redis;
  let inspect: Redis;

  beforeAll(async () => {
    ({ store, prefix, redis } = await connectedStore(undefined, undefined, 300));
    inspect = await inspector();
  });
  afterAll(async () => {
    await deletePrefix(inspect, prefix);
    await store.close();
    inspect.disconnect();
  });

  it('round-trips a session with history in order, merged context and turn metrics', async () => {
    const s = await store.create({
      callConnectionId: 'call-rt',
      scenario: 'insurance',
      agent: 'authentication',
    });
    await store.appendHistory(s.id, [entry('Hello, this is Contoso Insurance.', 'agent')]);
    await store.appendHistory(s.id, [entry('Hi, my name is Alice Brown'), entry('Thanks Alice', 'agent')]);
    await store.setContext(s.id, { callerName: 'Alice Brown', verified: false });
    await store.setContext(s.id, { verified: true, claim: { number: 'CLM-1', items: [1, 2] } });
    await store.appendTurnMetrics(s.id, [{ turn: 1, at: 'now', e2e_latency_ms: 612.5 }]);
    await store.update(s.id, { agent: 'claims' });
    const d = await store.get(s.id);
    expect(d).toMatchObject({
      id: s.id,
      state: 'active',
      callConnectionId: 'call-rt',
      scenario: 'insurance',
      agent: 'claims',
    });
    expect(d?.history.map((h) => [h.role, h.text])).toEqual([
      ['agent', 'Hello, this is Contoso Insurance.'],
      ['caller', 'Hi, my name is Alice Brown'],
      ['agent', 'Thanks Alice'],
    ]);
    expect(d?.context).toEqual({
      callerName: 'Alice Brown',
      verified: true,
      claim: { number: 'CLM-1', items: [1, 2] },
    });
    expect(d?.turns).toEqual([{ turn: 1, at: 'now', e2e_latency_ms: 612.5 }]);
  });

  it('sets a TTL on every key it writes', async () => {
    const s = await store.create({});
    await store.appendHistory(s.id, [entry('x')]);
    await store.setContext(s.id, { a: 1 });
    await store.appendTurnMetrics(s.id, [{ turn: 1, at: 'x' }]);
    await store.mapCall('call-ttl', s.id, { direction: 'inbound' });
    await store.claimOnce('evt-ttl', 60);
    const keys = await inspect.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThanOrEqual(7);
    for (const key of keys) {
      const ttl = await inspect.ttl(key);
      expect([key, ttl > 0 && ttl <= 300]).toEqual([key, true]);
    }
  });

  it('keeps every entry and each writer’s own order when many writers append at once', async () => {
    const s = await store.create({});
    const writers = await Promise.all([1, 2, 3, 4].map(() => connectedStore(undefined, prefix, 300)));
    await Promise.all(
      writers.map(async ({ store: w }, wi) => {
        for (let i = 0; i < 25; i++) await w.appendHistory(s.id, [entry(`w${wi}-${i}`)]);
      }),
    );
    await Promise.all(writers.map(({ store: w }) => w.close()));
    const texts = (await store.get(s.id))?.history.map((h) => h.text) ?? [];
    expect(texts).toHaveLength(100);
    for (let wi = 0; wi < 4; wi++) {
      const mine = texts.filter((t) => t.startsWith(`w${wi}-`));
      expect(mine).toEqual(Array.from({ length: 25 }, (_, i) => `w${wi}-${i}`));
    }
  });

  it('lists recent sessions newest first and finds the session of a call', async () => {
    const a = await store.create({ callConnectionId: 'call-list-a' });
    await new Promise((r) => setTimeout(r, 5));
    const b = await store.create({ callConnectionId: 'call-list-b' });
    await store.mapCall('call-list-a', a.id, { scenario: 'insurance' });
    const recent = (await store.list({ limit: 100 })).map((r) => r.id);
    expect(recent.indexOf(b.id)).toBeLessThan(recent.indexOf(a.id));
    expect(await store.list({ limit: 5, callConnectionId: 'call-list-a' })).toEqual([
      expect.objectContaining({ id: a.id }),
    ]);
    expect(await store.findCall('call-list-a')).toEqual({
      callConnectionId: 'call-list-a',
      sessionId: a.id,
      settings: { scenario: 'insurance' },
    });
    expect(await store.findCall('call-unknown')).toBeUndefined();
  });

  it('deletes a session with all its keys', async () => {
    const s = await store.create({});
    await store.appendHistory(s.id, [entry('bye')]);
    expect(await store.delete(s.id)).toBe(true);
    expect(await store.get(s.id)).toBeUndefined();
    expect(await inspect.keys(`${prefix}s:${s.id}*`)).toEqual([]);
    expect(await store.delete(s.id)).toBe(false);
    expect((await store.list({ limit: 100 })).some((r) => r.id === s.id)).toBe(false);
  });

  it('claims an event id once across replicas', async () => {
    const other = await connectedStore(undefined, prefix);
    const results = await Promise.all([
      store.claimOnce('evt-1', 60),
      other.store.claimOnce('evt-1', 60),
      store.claimOnce('evt-1', 60),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    await other.store.close();
  });

  it('reports itself connected', () => {
    expect(redis.status).toBe('ready');
    expect(store.health()).toMatchObject({ driver: 'redis', connected: true });
  });
});
