import {
  comfortNoise,
  DEFAULT_COMFORT_NOISE_DBFS,
  DEFAULT_SPEECH_THRESHOLD_DBFS,
  frameDbfs,
  speechBounds,
} from '../../../src/sim/energy';
import { concatSamples } from '../../../src/audio/pcm';

function tone(samples: number, amplitude: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 16000)),
  );
}

describe('frame energy and end of speech', () => {
  it('finds the first and last 20 ms frames above the threshold, ignoring comfort noise around them', () => {
    const utterance = concatSamples([
      comfortNoise(320 * 5),
      tone(320 * 3, 8000),
      comfortNoise(320 * 2),
      tone(320 * 4, 8000),
      comfortNoise(320 * 6),
    ]);
    expect(speechBounds(utterance, 16000)).toEqual({ onsetFrame: 5, endFrame: 13, frames: 20 });
  });

  it('says an utterance of noise or digital silence has no speech', () => {
    expect(speechBounds(comfortNoise(16000), 16000)).toBeUndefined();
    expect(speechBounds(new Int16Array(16000), 16000)).toBeUndefined();
  });

  it('makes comfort noise at the requested level, well below the speech threshold, the same on every run', () => {
    const noise = comfortNoise(16000);
    expect(frameDbfs(noise)).toBeCloseTo(DEFAULT_COMFORT_NOISE_DBFS, 0);
    expect(frameDbfs(noise)).toBeLessThan(DEFAULT_SPEECH_THRESHOLD_DBFS - 20);
    expect(comfortNoise(16000)).toEqual(noise);
    expect(frameDbfs(comfortNoise(16000, -30))).toBeCloseTo(-30, 0);
  });

  it('measures a full-scale square wave at 0 dBFS and silence at −Infinity', () => {
    expect(frameDbfs(Int16Array.from({ length: 320 }, (_, i) => (i % 2 ? 32767 : -32768)))).toBeCloseTo(0, 2);
    expect(frameDbfs(new Int16Array(320))).toBe(-Infinity);
  });
});
