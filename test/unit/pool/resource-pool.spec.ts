import { ResourcePool, type PoolOptions } from '../../../src/common/pool/resource-pool';

class Engine {
  static nextId = 0;
  readonly id = ++Engine.nextId;
  destroyed = false;
}

function pool(overrides: Partial<PoolOptions<Engine>> = {}) {
  const live = new Set<Engine>();
  const p = new ResourcePool<Engine>({
    name: 'test',
    create: async () => {
      const e = new Engine();
      live.add(e);
      return e;
    },
    destroy: (e) => {
      e.destroyed = true;
      live.delete(e);
    },
    max: 2,
    minIdle: 0,
    idleTimeoutMs: 60_000,
    acquireTimeoutMs: 1000,
    ...overrides,
  });
  return { p, live };
}

describe('ResourcePool', () => {
  it('creates the warm minimum at start', async () => {
    const { p, live } = pool({ minIdle: 2 });
    await p.start();
    expect(live.size).toBe(2);
    expect(p.stats()).toMatchObject({ idle: 2, inUse: 0, created: 2 });
    await p.close();
    expect(live.size).toBe(0);
  });

  it('fails start when the driver cannot create a resource', async () => {
    const { p } = pool({
      minIdle: 1,
      create: () => Promise.reject(new Error('libpocketsphinx.so.3 missing')),
    });
    await expect(p.start()).rejects.toThrow('libpocketsphinx.so.3 missing');
    await p.close();
  });

  it('never exceeds its cap; the next acquirer waits and gets the released resource', async () => {
    const { p, live } = pool({ max: 2 });
    const a = await p.acquire();
    const b = await p.acquire();
    const third = p.acquire();
    await new Promise((r) => setTimeout(r, 20));
    expect(live.size).toBe(2);
    expect(p.stats()).toMatchObject({ inUse: 2, waiting: 1 });
    a.release();
    const c = await third;
    expect(c.resource).toBe(a.resource);
    expect(live.size).toBe(2);
    b.release();
    c.release();
    await p.close();
  });

  it('rejects an acquire that waits longer than its timeout', async () => {
    const { p } = pool({ max: 1 });
    const held = await p.acquire();
    await expect(p.acquire({ timeoutMs: 30 })).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(/no resource free within 30 ms/),
    });
    expect(p.stats().waiting).toBe(0);
    held.release();
    await p.close();
  });

  it('stops waiting when the acquirer aborts', async () => {
    const { p } = pool({ max: 1 });
    const held = await p.acquire();
    const controller = new AbortController();
    const waiting = p.acquire({ signal: controller.signal });
    controller.abort(new Error('caller hung up'));
    await expect(waiting).rejects.toThrow('caller hung up');
    expect(p.stats().waiting).toBe(0);
    held.release();
    await expect(p.acquire({ signal: AbortSignal.abort(new Error('already gone')) })).rejects.toThrow(
      'already gone',
    );
    await p.close();
  });

  it('destroys a discarded (broken) resource and replaces it', async () => {
    const { p, live } = pool({ max: 1, minIdle: 1 });
    await p.start();
    const lease = await p.acquire();
    const broken = lease.resource;
    lease.discard('decoder crashed');
    await new Promise((r) => setTimeout(r, 20));
    expect(broken.destroyed).toBe(true);
    expect(p.stats()).toMatchObject({ idle: 1, destroyed: 1, created: 2, lastError: 'decoder crashed' });
    const next = await p.acquire();
    expect(next.resource).not.toBe(broken);
    expect(live.size).toBe(1);
    next.release();
    await p.close();
  });

  it('hands a waiter a replacement when the resource it waited for is discarded', async () => {
    const { p } = pool({ max: 1 });
    const lease = await p.acquire();
    const waiting = p.acquire();
    lease.discard('crashed');
    const next = await waiting;
    expect(next.resource).not.toBe(lease.resource);
    next.release();
    await p.close();
  });

  it('drops resources that fail validation when they leave the pool', async () => {
    const bad = new Set<Engine>();
    const { p } = pool({ validate: (e) => !bad.has(e) });
    const a = await p.acquire();
    a.release();
    bad.add(a.resource);
    const b = await p.acquire();
    expect(b.resource).not.toBe(a.resource);
    expect(a.resource.destroyed).toBe(true);
    b.release();
    await p.close();
  });

  it('evicts idle resources above the minimum after the idle timeout', async () => {
    let now = 0;
    const { p, live } = pool({ max: 3, minIdle: 1, idleTimeoutMs: 50, now: () => now });
    await p.start();
    const leases = await Promise.all([p.acquire(), p.acquire(), p.acquire()]);
    leases.forEach((l) => l.release());
    expect(live.size).toBe(3);
    now = 1000;
    await new Promise((r) => setTimeout(r, 120));
    expect(live.size).toBe(1);
    await p.close();
  });

  it('fails a waiter with the reason when creating a resource fails', async () => {
    const { p } = pool({ create: () => Promise.reject(new Error('model directory missing')) });
    await expect(p.acquire()).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      message: expect.stringMatching(/model directory missing/),
    });
    await p.close();
  });

  it('leaks nothing over 1000 acquire/release cycles with contention', async () => {
    const { p, live } = pool({ max: 3, minIdle: 1 });
    await p.start();
    await Promise.all(
      Array.from({ length: 10 }, async (_, worker) => {
        for (let i = 0; i < 100; i++) {
          const lease = await p.acquire();
          if ((worker * 100 + i) % 97 === 0) lease.discard('random failure');
          else lease.release();
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    const s = p.stats();
    expect(s).toMatchObject({ inUse: 0, waiting: 0, creating: 0 });
    expect(s.idle).toBeLessThanOrEqual(3);
    expect(live.size).toBe(s.idle);
    expect(s.created - s.destroyed).toBe(s.idle);
    expect(s.acquireWaitMs.count).toBeGreaterThan(0);
    await p.close();
    expect(live.size).toBe(0);
  });
});
