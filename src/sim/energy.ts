/**
 * Frame energy for the simulator's client-side measurements: where a caller utterance starts and ends
 * (first / last 20 ms frame above a level threshold), and low-level comfort noise for the gaps between
 * turns. Everything here runs once per utterance, never per sent frame.
 */

/** Frames quieter than this are not speech (flite speech peaks around −15 dBFS, comfort noise −70). */
export const DEFAULT_SPEECH_THRESHOLD_DBFS = -45;

/** Comfort-noise level: audible as a line hiss, far below any VAD's speech threshold. */
export const DEFAULT_COMFORT_NOISE_DBFS = -70;

/** RMS level of `samples[start, end)` in dBFS (−Infinity for digital silence). */
export function frameDbfs(samples: Int16Array, start = 0, end = samples.length): number {
  const n = end - start;
  if (n <= 0) return -Infinity;
  let sum = 0;
  for (let i = start; i < end; i++) sum += samples[i] * samples[i];
  return sum === 0 ? -Infinity : 10 * Math.log10(sum / n / (32768 * 32768));
}

export interface SpeechBounds {
  /** Index of the first 20 ms frame above the threshold. */
  onsetFrame: number;
  /** Index of the last 20 ms frame above the threshold (the end of speech is the end of this frame). */
  endFrame: number;
  /** Frames in the utterance (the last partial frame counts as one). */
  frames: number;
}

/**
 * The first and last 20 ms frames louder than `thresholdDbfs`, or undefined when no frame is (the
 * utterance is silence). Frames are numbered as the simulator sends them.
 */
export function speechBounds(
  samples: Int16Array,
  sampleRate: number,
  thresholdDbfs = DEFAULT_SPEECH_THRESHOLD_DBFS,
): SpeechBounds | undefined {
  const frameSamples = sampleRate / 50;
  const frames = Math.ceil(samples.length / frameSamples);
  let onsetFrame = -1;
  let endFrame = -1;
  for (let f = 0; f < frames; f++) {
    const start = f * frameSamples;
    if (frameDbfs(samples, start, Math.min(samples.length, start + frameSamples)) > thresholdDbfs) {
      if (onsetFrame < 0) onsetFrame = f;
      endFrame = f;
    }
  }
  return onsetFrame < 0 ? undefined : { onsetFrame, endFrame, frames };
}

/** Deterministic white noise at `dbfs` (LCG), so two runs send the same bytes. */
export function comfortNoise(samples: number, dbfs = DEFAULT_COMFORT_NOISE_DBFS, seed = 0x5eed): Int16Array {
  const out = new Int16Array(samples);
  const rms = 32768 * 10 ** (dbfs / 20);
  const amp = rms * Math.sqrt(3); // uniform on [-a, a] has rms a/√3
  let s = seed >>> 0;
  for (let i = 0; i < samples; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round((s / 0xffffffff) * 2 * amp - amp);
  }
  return out;
}
