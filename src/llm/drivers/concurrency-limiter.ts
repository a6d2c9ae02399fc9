import { DomainError } from '../../common/errors';

export interface ConcurrencyLimiterOptions {
  /** Name in errors and stats (e.g. the endpoint: "aoai-eastus"). */
  name: string;
  /** Requests in flight at once against the endpoint. */
  maxInFlight: number;
  /** How long a request may wait for a slot before it is refused with CAPACITY_EXCEEDED. */
  queueTimeoutMs: number;
  /** Waiters beyond this are refused at once (unbounded when absent). */
  maxQueued?: number;
}

export interface ConcurrencyLimiterStats {
  name: string;
  maxInFlight: number;
  inFlight: number;
  queued: number;
  /** Requests refused so far: queue timeout or queue full (aborted waiters are not counted). */
  rejected: number;
}

/** A held slot. `release()` is idempotent so every exit path may call it. */
export interface Permit {
  release(): void;
}

interface Waiter {
  grant: () => void;
  cleanup: () => void;
}

/**
 * Caps the requests in flight against one endpoint (one instance per endpoint, shared by every
 * session using it) so a burst of calls queues here, briefly, instead of piling 429s onto the
 * provider. Waiters are served FIFO; each waits at most `queueTimeoutMs`.
 */
export class ConcurrencyLimiter {
  private inFlight = 0;
  private rejected = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private readonly options: ConcurrencyLimiterOptions) {
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) {
      throw new Error(`limiter ${options.name}: maxInFlight must be a positive integer`);
    }
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * Resolves with a permit once a slot is free. Rejects with CAPACITY_EXCEEDED when the queue is full
   * or the wait exceeds the queue timeout, and with TIMEOUT ('aborted') when `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(aborted());
    if (this.inFlight < this.options.maxInFlight && this.waiters.length === 0) {
      return Promise.resolve(this.grant());
    }
    const { maxQueued } = this.options;
    if (maxQueued !== undefined && this.waiters.length >= maxQueued) {
      this.rejected++;
      return Promise.reject(
        new DomainError('CAPACITY_EXCEEDED', `${this.name}: ${maxQueued} requests already queued`),
      );
    }
    return new Promise<Permit>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remove(waiter);
        this.rejected++;
        reject(
          new DomainError(
            'CAPACITY_EXCEEDED',
            `${this.name}: no slot free within ${this.options.queueTimeoutMs} ms (max ${this.options.maxInFlight} in flight)`,
          ),
        );
      }, this.options.queueTimeoutMs);
      timer.unref();
      const onAbort = () => {
        this.remove(waiter);
        reject(aborted());
      };
      const waiter: Waiter = {
        grant: () => resolve(this.grant()),
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  stats(): ConcurrencyLimiterStats {
    return {
      name: this.name,
      maxInFlight: this.options.maxInFlight,
      inFlight: this.inFlight,
      queued: this.waiters.length,
      rejected: this.rejected,
    };
  }

  private grant(): Permit {
    this.inFlight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        const next = this.waiters.shift();
        if (next) {
          next.cleanup();
          next.grant();
        }
      },
    };
  }

  private remove(waiter: Waiter): void {
    waiter.cleanup();
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}

const aborted = () => new DomainError('TIMEOUT', 'aborted');
