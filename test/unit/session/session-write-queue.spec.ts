import pino from 'pino';
import { Writable } from 'node:stream';
import { MemorySessionStore } from '../../../src/session/memory-session-store';
import { SessionWriteQueue } from '../../../src/session/session-write-queue';
import type { ContextValue, HistoryEntry } from '../../../src/session/session.types';

/** A memory store whose writes fail while `down` is true (like Redis behind a cut connection). */
class FlakyStore extends MemorySessionStore {
  down = false;
  writes = 0;
  override async appendHistory(id: string, entries: HistoryEntry[]): Promise<void> {
    this.writes++;
    if (this.down) throw new Error('connection refused');
    return super.appendHistory(id, entries);
  }
  override async setContext(id: string, values: Record<string, ContextValue>): Promise<void> {
    if (this.down) throw new Error('connection refused');
    return super.setContext(id, values);
  }
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

const entry = (text: string): HistoryEntry => ({ role: 'caller', text, at: '2026-11-21T10:00:00Z' });
const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('SessionWriteQueue', () => {
  it('writes in order without making the caller wait', async () => {
    const store = new FlakyStore(60);
    const { logger } = logSink();
    const q = new SessionWriteQueue(store, logger, { maxPending: 100 });
    const s = await store.create({});
    for (let i = 0; i < 50; i++) q.appendHistory(s.id, entry(`line ${i}`));
    q.setContext(s.id, { step: 'done' });
    expect(await q.flush(1000)).toBe(true);
    const d = await store.get(s.id);
    expect(d?.history.map((h) => h.text)).toEqual(Array.from({ length: 50 }, (_, i) => `line ${i}`));
    expect(d?.context.step).toBe('done');
    // Consecutive history entries of one session are batched into few store calls.
    expect(store.writes).toBeLessThan(50);
    await store.close();
  });

  it('buffers while the store is down, logs the outage once, and flushes everything after recovery', async () => {
    const store = new FlakyStore(60);
    const { lines, logger } = logSink();
    const q = new SessionWriteQueue(store, logger, { maxPending: 1000, minBackoffMs: 5, maxBackoffMs: 20 });
    const s = await store.create({});
    store.down = true;
    expect(() => {
      for (let i = 0; i < 10; i++) q.appendHistory(s.id, entry(`during outage ${i}`));
    }).not.toThrow();
    await settle(100);
    expect(q.stats()).toMatchObject({ failing: true, pending: expect.any(Number) });
    expect(lines.filter((l) => String(l.msg).includes('write failed'))).toHaveLength(1);
    store.down = false;
    expect(await q.flush(2000)).toBe(true);
    expect((await store.get(s.id))?.history).toHaveLength(10);
    expect(q.stats()).toMatchObject({ failing: false, pending: 0, dropped: 0 });
    expect(lines.some((l) => String(l.msg).includes('reachable again'))).toBe(true);
    await store.close();
  });

  it('drops the oldest writes beyond its bound, counting them and saying so in an error log', async () => {
    const store = new FlakyStore(60);
    const { lines, logger } = logSink();
    const q = new SessionWriteQueue(store, logger, { maxPending: 5, minBackoffMs: 5, maxBackoffMs: 10 });
    const s = await store.create({});
    store.down = true;
    for (let i = 0; i < 20; i++) q.setContext(s.id, { [`k${i}`]: i });
    expect(q.stats().pending).toBe(5);
    expect(q.stats().dropped).toBe(15);
    expect(lines.some((l) => l.level === 50 && String(l.msg).includes('queue full'))).toBe(true);
    store.down = false;
    await q.flush(1000);
    expect(Object.keys((await store.get(s.id))?.context ?? {})).toEqual(['k15', 'k16', 'k17', 'k18', 'k19']);
    await store.close();
  });

  it('reports false from flush when the store stays down past the timeout', async () => {
    const store = new FlakyStore(60);
    const q = new SessionWriteQueue(store, logSink().logger, {
      maxPending: 10,
      minBackoffMs: 5,
      maxBackoffMs: 10,
    });
    store.down = true;
    q.appendHistory('s', entry('x'));
    expect(await q.flush(50)).toBe(false);
    q.close();
    await store.close();
  });
});
