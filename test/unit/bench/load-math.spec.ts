import {
  callsPerCore,
  decidingWindow,
  replyWait,
  Histogram,
  needsAnotherWindow,
  OutboundJitter,
  sloViolations,
} from '../../../bench/lib/load-math';

const ok = {
  loop_lag_ms: { p99: 5 },
  jitter_ms: { p99: 3 },
  overhead_ms: { p99: 2 },
  dropped_frames: 0,
  vad_delay_ms: { p99: 8 },
};

describe('OutboundJitter', () => {
  it('records no jitter for frames paced exactly on the service schedule (lead burst, then every 20 ms)', () => {
    const h = new Histogram();
    const j = new OutboundJitter(h, { leadMs: 100 });
    for (let k = 0; k < 6; k++) j.onFrame(1000); // the lead: frames 0..5 at once
    for (let k = 6; k < 50; k++) j.onFrame(1000 + k * 20 - 100);
    expect(h.count).toBe(49); // the first frame of a burst is the anchor
    expect(h.max).toBe(0);
    expect(j.lateFrames).toBe(0);
  });

  it('measures how late a frame is against its slot and counts an underrun inside a reply as late', () => {
    const h = new Histogram();
    const j = new OutboundJitter(h, { leadMs: 100 });
    for (let k = 0; k < 6; k++) j.onFrame(0);
    j.onFrame(27); // frame 6 is due at 20: 7 ms late
    expect(h.max).toBeCloseTo(7, 5);
    // The buffer (7 frames = 140 ms from t=0) runs dry at 140; a frame at 190 is a 50 ms gap.
    j.onFrame(190);
    expect(j.lateFrames).toBe(1);
    expect(j.lateGapMs).toBeCloseTo(50, 5);
  });

  it('starts a new burst after StopAudio or a long gap without counting late frames', () => {
    const h = new Histogram();
    const j = new OutboundJitter(h, { leadMs: 100 });
    j.onFrame(0);
    j.onStop();
    j.onFrame(50);
    j.onFrame(5000);
    expect(j.lateFrames).toBe(0);
    expect(j.bursts).toBe(3);
  });
});

describe('Histogram', () => {
  it('gives nearest-rank percentiles within one bin (0.1 ms) and NaN when empty', () => {
    const h = new Histogram(100, 0.1);
    expect(h.percentile(99)).toBeNaN();
    for (let i = 1; i <= 100; i++) h.record(i / 10);
    expect(Math.abs(h.percentile(50) - 5)).toBeLessThanOrEqual(0.1 + 1e-9);
    expect(Math.abs(h.percentile(99) - 9.9)).toBeLessThanOrEqual(0.1 + 1e-9);
  });
});

describe('capacity SLOs', () => {
  it('passes a step within every SLO and names each broken one', () => {
    expect(sloViolations(ok)).toEqual([]);
    const bad = sloViolations({ ...ok, loop_lag_ms: { p99: 25 }, jitter_ms: { p99: 10 }, dropped_frames: 2 });
    expect(bad).toHaveLength(3);
    expect(bad.join()).toMatch(/loop lag.*jitter.*dropped/);
  });

  it('fails a step whose VAD falls behind the callers, even with the event loop on time', () => {
    expect(sloViolations({ ...ok, vad_delay_ms: { p99: 1500 } })).toEqual(['VAD delay p99 ms 1500.0 ≥ 20']);
  });

  it('treats an unmeasured figure as a failure', () => {
    expect(sloViolations({ ...ok, overhead_ms: { p99: NaN } })).toHaveLength(1);
  });

  it('reports the highest N that met the SLOs', () => {
    expect(
      callsPerCore([
        { calls: 25, slo_met: true },
        { calls: 50, slo_met: true },
        { calls: 100, slo_met: false },
      ]),
    ).toBe(50);
    expect(callsPerCore([{ calls: 25, slo_met: false }])).toBe(0);
  });

  it('measures a step until two of three windows agree', () => {
    const v = (...met: boolean[]) => met.map((slo_met) => ({ slo_met }));
    expect(needsAnotherWindow([])).toBe(true);
    expect(needsAnotherWindow(v(true))).toBe(true);
    expect(needsAnotherWindow(v(false))).toBe(true);
    expect(needsAnotherWindow(v(true, true))).toBe(false);
    expect(needsAnotherWindow(v(false, false))).toBe(false);
    expect(needsAnotherWindow(v(true, false))).toBe(true);
    expect(needsAnotherWindow(v(false, true, true))).toBe(false);
    expect(needsAnotherWindow(v(true), 1)).toBe(false);
  });

  it('measures again a window that broke the SLOs during a host stall, up to five windows in all', () => {
    const met = { slo_met: true };
    const broke = { slo_met: false };
    const stalled = { slo_met: false, inconclusive: true };
    // A stalled break does not count: one conclusive break is not yet a majority.
    expect(needsAnotherWindow([broke, stalled])).toBe(true);
    expect(needsAnotherWindow([stalled, met, stalled])).toBe(true);
    expect(needsAnotherWindow([stalled, met, stalled, met])).toBe(false);
    expect(needsAnotherWindow([broke, stalled, broke])).toBe(false);
    // Never more than maxTotal windows, even undecided.
    expect(needsAnotherWindow([stalled, stalled, stalled, met, stalled])).toBe(false);
    expect(needsAnotherWindow([stalled, stalled], 3, 3)).toBe(true);
    expect(needsAnotherWindow([stalled, stalled, stalled], 3, 3)).toBe(false);
    // --quick: one window, none again.
    expect(needsAnotherWindow([stalled], 1, 1)).toBe(false);
  });

  it('decides a step on the conclusive windows, on all of them when none is', () => {
    const w = (slo_met: boolean, p99: number, inconclusive = false) => ({
      slo_met,
      inconclusive,
      jitter_ms: { p99 },
    });
    // Two stalled breaks and two that met: met, shown by the worst that met.
    expect(decidingWindow([w(false, 40, true), w(true, 5), w(false, 30, true), w(true, 8)])).toBe(3);
    // A tie among the conclusive windows is a break.
    expect(decidingWindow([w(true, 5), w(false, 12), w(false, 50, true)])).toBe(1);
    // Nothing conclusive: the stalled windows decide (a break, its best window shown).
    expect(decidingWindow([w(false, 40, true), w(false, 25, true)])).toBe(1);
  });

  it('shows a step by the window that decided it: the worst that met, or the best that broke', () => {
    const w = (slo_met: boolean, p99: number) => ({ slo_met, jitter_ms: { p99 } });
    expect(decidingWindow([w(true, 4), w(true, 7)])).toBe(1);
    expect(decidingWindow([w(false, 30), w(false, 12)])).toBe(1);
    // Majority met: a window that broke on something else (drops) with lower jitter is not the one shown.
    expect(decidingWindow([w(true, 5), w(false, 3), w(true, 8)])).toBe(2);
    expect(decidingWindow([w(false, 40), w(true, 2), w(false, 11)])).toBe(2);
    expect(decidingWindow([w(true, 5)])).toBe(0);
  });

  it('a caller waits for a reply to begin until the deadline, then for it to end however long it is', () => {
    const at = (now: number, replyStarted: boolean, quiet = false) =>
      replyWait({ now, deadline: 10_000, replyStarted, quiet });
    expect(at(9_000, false)).toBe('wait');
    expect(at(10_001, false)).toBe('timeout');
    // A greeting still playing after the deadline was answered: the caller keeps listening.
    expect(at(12_000, true)).toBe('wait');
    expect(at(12_600, true, true)).toBe('heard');
    expect(at(3_000, true, true)).toBe('heard');
  });
});
