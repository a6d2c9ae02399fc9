import { Resampler, resampleAll } from '../../../src/audio/resampler';
import { concat } from '../../support/audio';

const TONES = [
  { hz: 300, amp: 6000 },
  { hz: 1100, amp: 5000 },
  { hz: 3400, amp: 4000 },
];

function tones(rate: number, seconds: number, offsetSamples = 0): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = (i + offsetSamples) / rate;
    out[i] = Math.round(TONES.reduce((s, { hz, amp }) => s + amp * Math.sin(2 * Math.PI * hz * t), 0));
  }
  return out;
}

/** SNR of `out` against the ideal signal at the output rate, at the best alignment within ±maxLag. */
function snrDb(out: Int16Array, rate: number, skip: number, maxLag = 64): number {
  let best = -Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const ref = tones(rate, out.length / rate, -lag);
    let sig = 0;
    let noise = 0;
    for (let i = skip; i < out.length - skip; i++) {
      sig += ref[i] * ref[i];
      noise += (ref[i] - out[i]) ** 2;
    }
    best = Math.max(best, 10 * Math.log10(sig / noise));
  }
  return best;
}

function frameByFrame(r: Resampler, input: Int16Array, frame: number): Int16Array {
  const parts: Int16Array[] = [];
  for (let i = 0; i < input.length; i += frame) parts.push(r.process(input.subarray(i, i + frame)).slice());
  return concat(...parts);
}

describe('Resampler (speex, stateful)', () => {
  it('converts 24 kHz to 16 kHz frame by frame with an SNR of at least 30 dB against the ideal signal', async () => {
    const r = await Resampler.create(24000, 16000);
    const out = frameByFrame(r, tones(24000, 1), 480);
    r.dispose();
    expect(out.length).toBeGreaterThan(15_800);
    expect(snrDb(out, 16000, 400)).toBeGreaterThanOrEqual(30);
  });

  it('converts 16 kHz to 24 kHz with an SNR of at least 30 dB', async () => {
    const r = await Resampler.create(16000, 24000);
    const out = frameByFrame(r, tones(16000, 1), 320);
    r.dispose();
    expect(snrDb(out, 24000, 600)).toBeGreaterThanOrEqual(30);
  });

  it('has no discontinuities at frame edges: 20 ms frames give the same samples as one big chunk', async () => {
    const input = tones(24000, 0.5);
    const a = await Resampler.create(24000, 16000);
    const b = await Resampler.create(24000, 16000);
    const framed = frameByFrame(a, input, 480);
    const whole = b.process(input).slice();
    a.dispose();
    b.dispose();
    const n = Math.min(framed.length, whole.length);
    expect(n).toBeGreaterThan(7900);
    let maxDiff = 0;
    for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(framed[i] - whole[i]));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

  it('passes audio through untouched when the rates are equal', async () => {
    const r = await Resampler.create(16000, 16000);
    const input = tones(16000, 0.02);
    expect(r.process(input)).toBe(input);
    r.dispose();
  });

  it('resamples a whole clip aligned with the input and of the expected length', async () => {
    const out = await resampleAll(tones(24000, 0.5), 24000, 16000);
    expect(out.length).toBe(8000);
    expect(snrDb(out, 16000, 200, 2)).toBeGreaterThanOrEqual(30);
  });
});
