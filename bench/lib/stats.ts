/**
 * Small exact statistics for benchmark samples. Percentiles use the nearest-rank definition (the value
 * at rank ⌈p/100 · n⌉ of the sorted samples), so a reported p99 is always a value that was observed.
 * Empty input gives NaN: a scenario that measured nothing must not report a plausible-looking zero.
 */

/** A sorted numeric copy (typed-array sort is numeric, unlike Array#sort's default). */
function sorted(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** Nearest-rank percentile of already sorted values; `p` in [0, 100]. */
export function percentileSorted(sortedValues: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
  const n = sortedValues.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sortedValues[Math.min(n, rank) - 1];
}

/** Nearest-rank percentile; `p` in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  return percentileSorted(sorted(values), p);
}

/** Several percentiles with one sort, keyed `p50`, `p99`… */
export function percentiles<P extends number>(
  values: readonly number[],
  ps: readonly P[],
): Record<`p${P}`, number> {
  const s = sorted(values);
  const out = {} as Record<`p${P}`, number>;
  for (const p of ps) out[`p${p}`] = percentileSorted(s, p);
  return out;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** The middle value (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const s = sorted(values);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export interface Summary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  return {
    count: s.length,
    mean: mean(values),
    min: s.length ? s[0] : NaN,
    p50: percentileSorted(s, 50),
    p95: percentileSorted(s, 95),
    p99: percentileSorted(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/** Rounds to `digits` decimals (for reports; keeps NaN/Infinity as they are). */
export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
