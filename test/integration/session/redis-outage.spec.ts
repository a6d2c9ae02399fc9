import type { Redis } from 'ioredis';
import pino from 'pino';
import { Writable } from 'node:stream';
import { SessionWriteQueue } from '../../../src/session/session-write-queue';
import { TcpProxy } from '../../fakes/tcp-proxy';
import { connectedStore, deletePrefix, inspector } from '../../support/redis';
import { until } from '../../support/wait';

describe('Redis unreachable (TCP proxy cut in front of the real Redis)', () => {
  let proxy: TcpProxy;
  let inspect: Redis;
  beforeEach(async () => {
    proxy = await new TcpProxy('127.0.0.1', 6379).start();
    inspect = await inspector();
  });
  afterEach(async () => {
    await proxy.stop();
    inspect.disconnect();
  });

  it('fails call-control writes fast with STORE_UNAVAILABLE, buffers conversation writes, and flushes them after recovery', async () => {
    const { store, prefix } = await connectedStore(proxy.url, undefined, 300, 300);
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString())), cb()) }),
    );
    const queue = new SessionWriteQueue(store, log, {
      maxPending: 1000,
      minBackoffMs: 20,
      maxBackoffMs: 100,
    });
    const s = await store.create({});
    queue.appendHistory(s.id, { role: 'caller', text: 'before the outage', at: 'x' });
    expect(await queue.flush(2000)).toBe(true);

    proxy.cut();
    await until(() => !store.health().connected);
    expect(store.health().downSince).toEqual(expect.any(Number));

    const started = Date.now();
    await expect(store.mapCall('call-x', s.id)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1000);

    // The media path keeps writing; nothing is thrown into it.
    expect(() => {
      for (let i = 0; i < 20; i++)
        queue.appendHistory(s.id, { role: i % 2 ? 'agent' : 'caller', text: `during ${i}`, at: 'x' });
      queue.setContext(s.id, { stage: 'outage' });
      queue.recordTurn(s.id, { turn: 1, at: 'x', e2e_latency_ms: 700 });
    }).not.toThrow();
    await until(() => queue.stats().failing);
    expect(lines.some((l) => l.level === 50 && String(l.msg).includes('buffering conversation writes'))).toBe(
      true,
    );

    proxy.restore();
    await until(() => store.health().connected, 10_000);
    expect(await queue.flush(5000)).toBe(true);

    const d = await store.get(s.id);
    expect(d?.history.map((h) => h.text)).toEqual([
      'before the outage',
      ...Array.from({ length: 20 }, (_, i) => `during ${i}`),
    ]);
    expect(d?.context).toEqual({ stage: 'outage' });
    expect(d?.turns).toEqual([{ turn: 1, at: 'x', e2e_latency_ms: 700 }]);
    expect(queue.stats()).toMatchObject({ dropped: 0, pending: 0, failing: false });

    await deletePrefix(inspect, prefix);
    queue.close();
    await store.close();
  }, 30_000);
});
