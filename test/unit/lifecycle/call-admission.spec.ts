import { loadConfig } from '../../../src/config';
import { ReadinessRegistry } from '../../../src/health/readiness.registry';
import { CallAdmission } from '../../../src/lifecycle/call-admission.service';

function setup(max = 2) {
  const registry = new ReadinessRegistry();
  const admission = new CallAdmission(
    loadConfig({ MAX_CONCURRENT_CALLS: String(max) }, { envFile: false }),
    registry,
  );
  admission.onModuleInit();
  return { registry, admission };
}

describe('CallAdmission', () => {
  it('admits calls up to the capacity and refuses the next with CAPACITY_EXCEEDED', async () => {
    const { admission, registry } = setup(2);
    const a = admission.admit('a');
    admission.admit('b');
    expect(() => admission.admit('c')).toThrow(expect.objectContaining({ code: 'CAPACITY_EXCEEDED' }));
    expect((await registry.evaluate()).ready).toBe(false);
    a.release();
    a.release(); // idempotent
    expect(admission.activeCount).toBe(1);
    expect(() => admission.admit('c')).not.toThrow();
  });

  it('refuses new calls while draining and reports not ready', async () => {
    const { admission, registry } = setup();
    admission.startDrain();
    expect(() => admission.admit('a')).toThrow(expect.objectContaining({ code: 'DRAINING' }));
    const result = await registry.evaluate();
    expect(result.ready).toBe(false);
    expect(result.dependencies.calls.details).toMatchObject({ draining: true });
  });

  it('counts leases of the same call as one slot, freed when the last lease is released', () => {
    const { admission } = setup(1);
    const control = admission.admit('s1');
    const media = admission.admit('s1');
    expect(admission.activeCount).toBe(1);
    expect(() => admission.admit('s2')).toThrow(expect.objectContaining({ code: 'CAPACITY_EXCEEDED' }));
    control.release();
    expect(admission.activeCount).toBe(1);
    media.release();
    expect(admission.activeCount).toBe(0);
  });

  it('lets a call admitted before the drain take another lease (its media socket) while draining', () => {
    const { admission } = setup();
    admission.admit('s1');
    admission.startDrain();
    expect(() => admission.admit('s1')).not.toThrow();
    expect(() => admission.admit('s2')).toThrow(expect.objectContaining({ code: 'DRAINING' }));
  });

  it('waits for open calls to end, or reports that the drain time ran out', async () => {
    const { admission } = setup();
    const lease = admission.admit('a');
    expect(await admission.waitForIdle(20)).toBe(false);
    setTimeout(() => lease.release(), 10);
    expect(await admission.waitForIdle(1000)).toBe(true);
  });
});

describe('ReadinessRegistry', () => {
  it('is ready when only non-critical dependencies are down and lists every dependency', async () => {
    const r = new ReadinessRegistry();
    r.register('store', () => ({ state: 'degraded', critical: true }));
    r.register('optional', () => ({ state: 'down', critical: false }));
    const result = await r.evaluate();
    expect(result.ready).toBe(true);
    expect(Object.keys(result.dependencies)).toEqual(['store', 'optional']);
  });

  it('treats a check that throws or hangs as a critical dependency down', async () => {
    const r = new ReadinessRegistry();
    r.register('throws', () => {
      throw new Error('boom');
    });
    r.register('hangs', () => new Promise(() => undefined));
    const result = await r.evaluate(20);
    expect(result.ready).toBe(false);
    expect(result.dependencies.throws.details).toEqual({ error: 'boom' });
    expect(result.dependencies.hangs.details).toEqual({ error: 'check timed out after 20 ms' });
  });

  it('refuses two checks with one name', () => {
    const r = new ReadinessRegistry();
    r.register('x', () => ({ state: 'up', critical: true }));
    expect(() => r.register('x', () => ({ state: 'up', critical: true }))).toThrow(/registered twice/);
  });
});
