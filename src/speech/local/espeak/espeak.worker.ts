import { isMainThread, parentPort } from 'node:worker_threads';
import espeakFactory from '@echogarden/espeak-ng-emscripten';

/** Main thread → worker. */
export type ToEspeakWorker =
  | { type: 'synth'; id: number; sentences: string[]; voice: string; wordsPerMinute: number }
  | { type: 'cancel'; id: number };

/** Worker → main thread. */
export type FromEspeakWorker =
  | { type: 'ready'; sampleRate: number }
  | { type: 'audio'; id: number; pcm: ArrayBuffer }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'fatal'; message: string };

interface EspeakModule {
  eSpeakNGWorker: new () => {
    set_voice(name: string): number;
    set_rate(wpm: number): number;
    get_samplerate(): number;
    synthesize(text: string, callback: (samples: Int16Array) => void): void;
  };
}

/**
 * One espeak-ng (WASM) synthesizer. Synthesis is synchronous inside WASM (10–40 ms per sentence warm),
 * which is why it runs here and not on the main event loop. Requests are served in order; a
 * cancelled request stops at the next sentence boundary.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('espeak.worker must run in a worker thread');
  const post = (m: FromEspeakWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  try {
    const m = (await (espeakFactory as unknown as () => Promise<EspeakModule>)()) as EspeakModule;
    const engine = new m.eSpeakNGWorker();
    engine.set_voice('en-us');
    // The first calls are slow (lazy data loading); pay for them before the first caller does.
    for (let i = 0; i < 3; i++) engine.synthesize('Warming up the voice.', () => undefined);
    const cancelled = new Set<number>();
    let voice = 'en-us';
    port.on('message', (msg: ToEspeakWorker) => {
      if (msg.type === 'cancel') {
        cancelled.add(msg.id);
        return;
      }
      try {
        if (msg.voice !== voice) {
          engine.set_voice(msg.voice);
          voice = msg.voice;
        }
        engine.set_rate(msg.wordsPerMinute);
        for (const sentence of msg.sentences) {
          if (cancelled.has(msg.id)) break;
          const parts: Int16Array[] = [];
          // A truthy return from the callback tells espeak to stop: keep the body a statement.
          engine.synthesize(sentence, (samples) => {
            parts.push(samples);
          });
          const total = parts.reduce((n, p) => n + p.length, 0);
          const pcm = new Int16Array(total);
          let off = 0;
          for (const p of parts) {
            pcm.set(p, off);
            off += p.length;
          }
          post({ type: 'audio', id: msg.id, pcm: pcm.buffer }, [pcm.buffer]);
        }
        post({ type: 'done', id: msg.id });
      } catch (err) {
        post({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
      } finally {
        cancelled.delete(msg.id);
      }
    });
    post({ type: 'ready', sampleRate: engine.get_samplerate() });
  } catch (err) {
    post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  }
}

if (!isMainThread) void main();
