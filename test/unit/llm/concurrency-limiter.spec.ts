import { DomainError } from '../../../src/common/errors';
import { ConcurrencyLimiter } from '../../../src/llm/drivers/concurrency-limiter';

const limiter = (maxInFlight = 1, queueTimeoutMs = 1000, maxQueued?: number) =>
  new ConcurrencyLimiter({ name: 'aoai-test', maxInFlight, queueTimeoutMs, maxQueued });

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('ConcurrencyLimiter', () => {
  it('grants up to maxInFlight slots at once and queues the rest', async () => {
    const l = limiter(2);
    await l.acquire();
    await l.acquire();
    const third = l.acquire();
    expect(await settled(third)).toBe(false);
    expect(l.stats()).toMatchObject({ inFlight: 2, queued: 1, rejected: 0 });
  });

  it('hands released slots to waiters in arrival order', async () => {
    const l = limiter(1);
    const first = await l.acquire();
    const order: string[] = [];
    const a = l.acquire().then((p) => (order.push('a'), p));
    const b = l.acquire().then((p) => (order.push('b'), p));
    first.release();
    (await a).release();
    (await b).release();
    expect(order).toEqual(['a', 'b']);
    expect(l.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('does not let a newcomer jump ahead of queued waiters', async () => {
    const l = limiter(1);
    const first = await l.acquire();
    const waiting = l.acquire();
    first.release();
    const late = l.acquire();
    await waiting;
    expect(await settled(late)).toBe(false);
  });

  it('refuses with CAPACITY_EXCEEDED when no slot frees within the queue timeout', async () => {
    const l = limiter(1, 50);
    await l.acquire();
    const started = Date.now();
    const err = await l.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'CAPACITY_EXCEEDED' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(l.stats()).toMatchObject({ inFlight: 1, queued: 0, rejected: 1 });
  });

  it('refuses at once when the queue is full', async () => {
    const l = limiter(1, 10_000, 1);
    await l.acquire();
    void l.acquire().catch(() => undefined);
    await expect(l.acquire()).rejects.toMatchObject({ code: 'CAPACITY_EXCEEDED' });
    expect(l.stats()).toMatchObject({ queued: 1, rejected: 1 });
  });

  it('drops a waiter whose signal aborts, with TIMEOUT, without counting a rejection', async () => {
    const l = limiter(1);
    const held = await l.acquire();
    const ac = new AbortController();
    const waiting = l.acquire(ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'TIMEOUT', message: 'aborted' });
    expect(l.stats()).toMatchObject({ queued: 0, rejected: 0 });
    held.release();
    expect(l.stats().inFlight).toBe(0);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(limiter().acquire(AbortSignal.abort())).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('ignores a second release of the same permit', async () => {
    const l = limiter(2);
    const p = await l.acquire();
    await l.acquire();
    p.release();
    p.release();
    expect(l.stats().inFlight).toBe(1);
  });

  it('rejects a non-positive maxInFlight at construction', () => {
    expect(() => limiter(0)).toThrow(/maxInFlight/);
  });
});
