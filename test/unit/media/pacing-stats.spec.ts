import { PacingStats } from '../../../src/media/pipeline/pacing-stats';

describe('PacingStats', () => {
  it('gives percentiles to the 0.5 ms bin, the max, and counts sends over 10 ms late across windows', () => {
    const stats = new PacingStats();
    expect(stats.percentile(99)).toBe(0);
    for (let i = 0; i < 98; i++) stats.record(0.2);
    stats.record(12.3);
    stats.record(-1); // a timer never fires early, but clock error must not break the bins
    expect(stats.count).toBe(100);
    expect(stats.percentile(50)).toBe(0.5);
    expect(stats.percentile(99)).toBe(0.5);
    expect(stats.percentile(100)).toBeCloseTo(12.3); // the bin's upper edge, capped at the max
    expect(stats.maxMs).toBeCloseTo(12.3);
    expect(stats.lateOver10).toBe(1);
    stats.resetWindow();
    expect([stats.count, stats.maxMs, stats.percentile(99), stats.lateOver10]).toEqual([0, 0, 0, 1]);
    stats.record(500); // beyond the last bin: reported as the max
    expect(stats.percentile(99)).toBe(500);
  });
});
