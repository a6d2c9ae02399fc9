import type { MessagePort } from 'node:worker_threads';
import type { FromSynthWorker, ToSynthWorker } from './synth-worker';

type SynthRequest = Extract<ToSynthWorker, { type: 'synth' }>;

/** Synthesizes one unit of text; returns PCM16 mono at the engine's rate. Synchronous by nature. */
export type UnitSynthesizer = (text: string, voice: string, rate: number) => Int16Array;

/**
 * The worker side of the synth protocol: requests are served in order, one unit per macrotask, so a
 * 'cancel' posted while a request runs is seen before its next unit (a unit itself cannot be
 * interrupted: it is one synchronous call). 'close' ends the thread at the same kind of point.
 */
export function serveSynthesis(port: MessagePort, synthesize: UnitSynthesizer): void {
  const queue: Array<{ request: SynthRequest; next: number }> = [];
  const cancelled = new Set<number>();
  let scheduled = false;
  const post = (m: FromSynthWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

  const finish = (id: number, m: FromSynthWorker) => {
    queue.shift();
    cancelled.delete(id);
    post(m);
  };

  const step = () => {
    scheduled = false;
    const job = queue[0];
    if (!job) return;
    const { id, sentences, voice, rate } = job.request;
    if (cancelled.has(id) || job.next >= sentences.length) finish(id, { type: 'done', id });
    else {
      try {
        const samples = synthesize(sentences[job.next++], voice, rate);
        // Transfer without a copy when the samples own their whole buffer.
        const pcm =
          samples.byteOffset === 0 && samples.byteLength === samples.buffer.byteLength
            ? samples
            : samples.slice();
        post({ type: 'audio', id, pcm: pcm.buffer as ArrayBuffer }, [pcm.buffer as ArrayBuffer]);
      } catch (err) {
        finish(id, { type: 'error', id, message: err instanceof Error ? err.message : String(err) });
      }
    }
    schedule();
  };

  const schedule = () => {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(step);
  };

  port.on('message', (m: ToSynthWorker) => {
    if (m.type === 'close') {
      // Between units by construction (messages are handled between macrotasks): a safe point to stop.
      process.exit(0);
    }
    if (m.type === 'cancel') {
      if (queue.some((j) => j.request.id === m.id)) cancelled.add(m.id);
      return;
    }
    queue.push({ request: m, next: 0 });
    schedule();
  });
}
