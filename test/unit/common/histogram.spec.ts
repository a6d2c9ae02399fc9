import { Histogram } from '../../../src/common/histogram';

describe('Histogram', () => {
  it('answers the exact max for a rank that falls in the overflow bin, not the bin edge', () => {
    const h = new Histogram(10, 1);
    for (let i = 0; i < 98; i++) h.record(0.5);
    h.record(500);
    h.record(700);
    expect(h.percentile(50)).toBe(1);
    expect(h.percentile(99)).toBe(700);
    expect(h.max).toBe(700);
  });
});
