import { LOUD_MIN_DBFS, LoudnessGate } from '../../../src/speech/vad/loudness-gate';

/** Sum of squares of a 20 ms frame (320 samples) of constant RMS level `dbfs`. */
function frameAt(dbfs: number): [number, number] {
  const rms = 32768 * 10 ** (dbfs / 20);
  return [rms * rms * 320, 320];
}

describe('LoudnessGate (frame energy against the line noise floor)', () => {
  it('calls a speech-level frame loud on a line with −70 dBFS of hiss, and the hiss not', () => {
    const gate = new LoudnessGate();
    for (let i = 0; i < 50; i++) expect(gate.loud(...frameAt(-70))).toBe(false);
    expect(gate.loud(...frameAt(-30))).toBe(true);
    // 12 dB above the floor is the bar: −59 is not loud, −57 is.
    expect(gate.loud(...frameAt(-59))).toBe(false);
    expect(gate.loud(...frameAt(-57))).toBe(true);
  });

  it('on a digitally silent line nothing below LOUD_MIN_DBFS is loud', () => {
    const gate = new LoudnessGate();
    for (let i = 0; i < 10; i++) expect(gate.loud(0, 320)).toBe(false);
    expect(gate.loud(...frameAt(LOUD_MIN_DBFS - 1))).toBe(false);
    expect(gate.loud(...frameAt(LOUD_MIN_DBFS + 5))).toBe(true);
  });

  it('follows a line that gets noisier slowly (2.5 dB/s) and one that gets quieter at once', () => {
    const gate = new LoudnessGate();
    gate.loud(...frameAt(-70));
    // A second of speech lifts the floor by 2.5 dB only.
    for (let i = 0; i < 50; i++) gate.loud(...frameAt(-20));
    expect(gate.floor).toBeCloseTo(-67.5, 5);
    // Noise at −40 from now on: after 12 s the floor has caught up, and the noise is not loud.
    for (let i = 0; i < 600; i++) gate.loud(...frameAt(-40));
    expect(gate.floor).toBeCloseTo(-40, 5);
    expect(gate.loud(...frameAt(-40))).toBe(false);
    // One quiet frame brings the floor down with it.
    gate.loud(...frameAt(-75));
    expect(gate.floor).toBeCloseTo(-75, 5);
  });

  it('starts from no floor again after reset, and an empty frame is never loud', () => {
    const gate = new LoudnessGate();
    gate.loud(...frameAt(-20));
    gate.reset();
    expect(Number.isNaN(gate.floor)).toBe(true);
    expect(gate.loud(0, 0)).toBe(false);
  });
});
