import { mean, median, percentile, percentiles, round, summarize } from '../../../bench/lib/stats';

describe('bench stats', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose

  it('uses nearest-rank percentiles: always an observed value', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
    expect(percentile([7], 99)).toBe(7);
  });

  it('sorts numerically, not as text', () => {
    expect(percentile([10, 9, 100, 2], 100)).toBe(100);
    expect(percentile([10, 9, 100, 2], 25)).toBe(2);
  });

  it('computes several percentiles with one sort, keyed pNN', () => {
    expect(percentiles(hundred, [50, 95, 99])).toEqual({ p50: 50, p95: 95, p99: 99 });
  });

  it('gives NaN for no samples rather than a plausible zero', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(mean([])).toBeNaN();
    expect(median([])).toBeNaN();
    expect(summarize([])).toMatchObject({ count: 0, p50: NaN, max: NaN });
  });

  it('rejects percentiles outside [0, 100]', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], NaN)).toThrow(RangeError);
  });

  it('computes mean, median and a summary exactly', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(median([4, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarize([5, 1, 3])).toEqual({ count: 3, mean: 3, min: 1, p50: 3, p95: 5, p99: 5, max: 5 });
  });

  it('does not modify its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    summarize(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('rounds for reports and leaves non-finite values alone', () => {
    expect(round(1.26, 1)).toBe(1.3);
    expect(round(1234.5678, 2)).toBe(1234.57);
    expect(round(NaN)).toBeNaN();
    expect(round(Infinity)).toBe(Infinity);
  });
});
