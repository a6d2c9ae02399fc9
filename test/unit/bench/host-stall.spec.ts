import { HOST_STALL_MS, StallRecorder } from '../../../bench/lib/host-stall';

describe('StallRecorder', () => {
  it('reports how late an idle timer fired and counts the stalls of HOST_STALL_MS or more', () => {
    const r = new StallRecorder(5);
    let t = 1000;
    r.tick(t);
    for (let i = 0; i < 100; i++) r.tick((t += 5.5));
    expect(r.read()).toEqual({ max_ms: 0.5, stalls: 0 });
    r.tick((t += 5 + HOST_STALL_MS - 1));
    expect(r.read()).toEqual({ max_ms: HOST_STALL_MS - 1, stalls: 0 });
    r.tick((t += 5 + 45));
    r.tick((t += 5));
    r.tick((t += 5 + HOST_STALL_MS));
    expect(r.read()).toEqual({ max_ms: 45, stalls: 2 });
  });

  it('starts again from nothing after a reset: the first tick only anchors', () => {
    const r = new StallRecorder(5);
    r.tick(0);
    r.tick(100);
    expect(r.read().stalls).toBe(1);
    r.reset();
    expect(r.read()).toEqual({ max_ms: 0, stalls: 0 });
    r.tick(5000);
    r.tick(5005);
    expect(r.read()).toEqual({ max_ms: 0, stalls: 0 });
  });
});
