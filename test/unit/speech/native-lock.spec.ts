import { Worker } from 'node:worker_threads';
import { NativeLock } from '../../../src/speech/local/flite/native-lock';

const holder = (lock: NativeLock) => new Int32Array(lock.buffer)[0];

describe('NativeLock (process-wide lock for libflite)', () => {
  it('is taken by one owner at a time and only its owner releases it', () => {
    const lock = NativeLock.create();
    lock.acquire(7);
    expect(holder(lock)).toBe(7);
    lock.release(8);
    expect(holder(lock)).toBe(7);
    lock.release(7);
    expect(holder(lock)).toBe(0);
    expect(lock.run(3, () => holder(lock))).toBe(3);
    expect(holder(lock)).toBe(0);
  });

  it('releases when the guarded call throws', () => {
    const lock = NativeLock.create();
    expect(() =>
      lock.run(5, () => {
        throw new Error('native failure');
      }),
    ).toThrow('native failure');
    expect(holder(lock)).toBe(0);
  });

  it('blocks another thread until the holder (or the main thread for a dead holder) releases it', async () => {
    const lock = NativeLock.create();
    lock.acquire(99); // as if held by a worker that died
    // The worker spins on the same Atomics protocol as NativeLock.acquire (plain JS: no TS loader).
    const worker = new Worker(
      `const { parentPort, workerData, threadId } = require('node:worker_threads');
       const word = new Int32Array(workerData);
       parentPort.postMessage('waiting');
       for (;;) { const h = Atomics.compareExchange(word, 0, 0, threadId); if (h === 0) break; Atomics.wait(word, 0, h); }
       parentPort.postMessage('got');`,
      { eval: true, workerData: lock.buffer },
    );
    const messages: string[] = [];
    const got = new Promise<void>((resolve) =>
      worker.on('message', (m: string) => {
        messages.push(m);
        if (m === 'got') resolve();
      }),
    );
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    expect(messages).toEqual(['waiting']);
    expect(holder(lock)).toBe(99);
    lock.release(99);
    await got;
    expect(holder(lock)).toBe(worker.threadId);
    await worker.terminate();
  });
});
