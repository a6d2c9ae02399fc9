import { isMainThread, parentPort } from 'node:worker_threads';
import espeakFactory from '@echogarden/espeak-ng-emscripten';
import { concatSamples } from '../../../audio/pcm';
import type { FromSynthWorker } from '../synth-worker';
import { serveSynthesis } from '../synth-worker-loop';

interface EspeakModule {
  eSpeakNGWorker: new () => {
    set_voice(name: string): number;
    set_rate(wpm: number): number;
    get_samplerate(): number;
    synthesize(text: string, callback: (samples: Int16Array) => void): void;
  };
}

/** espeak-ng's speed at rate 1 (words per minute). */
const BASE_WPM = 175;

/**
 * One espeak-ng (WASM) synthesizer. Synthesis is synchronous inside WASM (10–40 ms per sentence warm),
 * which is why it runs here and not on the main event loop.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('espeak.worker must run in a worker thread');
  const post = (m: FromSynthWorker) => port.postMessage(m);
  try {
    const m = (await (espeakFactory as unknown as () => Promise<EspeakModule>)()) as EspeakModule;
    const engine = new m.eSpeakNGWorker();
    engine.set_voice('en-us');
    // The first calls are slow (lazy data loading); pay for them before the first caller does.
    for (let i = 0; i < 3; i++) engine.synthesize('Warming up the voice.', () => undefined);
    let voice = 'en-us';
    serveSynthesis(port, (text, name, rate) => {
      if (name !== voice) {
        engine.set_voice(name);
        voice = name;
      }
      engine.set_rate(Math.round(BASE_WPM * rate));
      const parts: Int16Array[] = [];
      // A truthy return from the callback tells espeak to stop: keep the body a statement.
      engine.synthesize(text, (samples) => {
        parts.push(samples);
      });
      return concatSamples(parts);
    });
    post({ type: 'ready', sampleRate: engine.get_samplerate() });
  } catch (err) {
    post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  }
}

if (!isMainThread) void main();
