/**
 * A process-wide lock over shared memory, for native code that must not run on two threads at once.
 * libflite keeps process-global state (each voice is a singleton whose feature set we write per
 * request; its regex and error hooks are global), so its worker threads synthesize one at a time.
 * The lock word holds the owner's thread id, so the main thread can free the lock of a worker that
 * died holding it.
 */
/** The main thread's owner id (its threadId, 0, means "free" in the lock word). */
export const MAIN_THREAD_OWNER = -1;

export class NativeLock {
  private readonly word: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.word = new Int32Array(buffer, 0, 1);
  }

  static create(): NativeLock {
    return new NativeLock(new SharedArrayBuffer(4));
  }

  /**
   * Blocks this thread until the lock is free, then takes it. `owner` is not 0: a worker's thread id,
   * or MAIN_THREAD_OWNER.
   */
  acquire(owner: number): void {
    for (;;) {
      const holder = Atomics.compareExchange(this.word, 0, 0, owner);
      if (holder === 0) return;
      Atomics.wait(this.word, 0, holder);
    }
  }

  release(owner: number): void {
    if (Atomics.compareExchange(this.word, 0, owner, 0) === owner) Atomics.notify(this.word, 0, 1);
  }

  /** Runs `fn` holding the lock. */
  run<T>(owner: number, fn: () => T): T {
    this.acquire(owner);
    try {
      return fn();
    } finally {
      this.release(owner);
    }
  }
}
