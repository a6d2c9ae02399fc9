import { concatSamples } from '../../src/audio/pcm';
import { resampleAll } from '../../src/audio/resampler';
import { isFliteVoice, NativeFlite } from '../../src/speech/local/flite/flite-native';
import { fliteProcessLock } from '../../src/speech/local/flite/flite-text-to-speech';
import { MAIN_THREAD_OWNER } from '../../src/speech/local/flite/native-lock';
import { synthesisUnits } from '../../src/speech/local/sentences';

let flite: NativeFlite | undefined;

/**
 * Caller speech rendered with the embedded TTS (libflite, cut into units as the service cuts them), as
 * Int16 samples at `sampleRate`. In process: a test may block its own thread for the few ms this takes.
 */
export async function speak(
  text: string,
  sampleRate: 16000 | 24000 = 16000,
  voice = 'slt',
): Promise<Int16Array> {
  // The app under test may run flite workers in this process: libflite is used by one thread at a time.
  const lock = fliteProcessLock();
  flite ??= lock.run(MAIN_THREAD_OWNER, () => new NativeFlite());
  const name = isFliteVoice(voice) ? voice : 'slt';
  const units = synthesisUnits(text).map((u) =>
    lock.run(MAIN_THREAD_OWNER, () => flite!.synthesize(u, name)),
  );
  const pcm = concatSamples(units.map((u) => u.pcm));
  return resampleAll(pcm, units[0]?.sampleRate ?? sampleRate, sampleRate);
}

/** Deterministic white noise (LCG), so a test run is repeatable. */
export function whiteNoise(samples: number, rms: number, seed = 12345): Int16Array {
  const out = new Int16Array(samples);
  let s = seed >>> 0;
  const amp = rms * Math.sqrt(3); // uniform on [-a, a] has rms a/√3
  for (let i = 0; i < samples; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round((s / 0xffffffff) * 2 * amp - amp)));
  }
  return out;
}

export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/** Adds noise at the given signal-to-noise ratio (dB) relative to the speech's own RMS. */
export function addNoise(speech: Int16Array, snrDb: number, seed = 7): Int16Array {
  const noise = whiteNoise(speech.length, rms(speech) / 10 ** (snrDb / 20), seed);
  const out = new Int16Array(speech.length);
  for (let i = 0; i < speech.length; i++) out[i] = Math.max(-32768, Math.min(32767, speech[i] + noise[i]));
  return out;
}

export function concat(...parts: Int16Array[]): Int16Array {
  return concatSamples(parts);
}

/** Splits into 20 ms frames (the last partial frame is dropped). */
export function frames(samples: Int16Array, sampleRate = 16000): Int16Array[] {
  const n = (sampleRate / 1000) * 20;
  const out: Int16Array[] = [];
  for (let i = 0; i + n <= samples.length; i += n) out.push(samples.subarray(i, i + n));
  return out;
}
