import { DomainError } from '../errors';

export interface PoolOptions<T> {
  /** Name in logs, metrics, /ready and /api/v1/pools. */
  name: string;
  create: () => Promise<T>;
  destroy: (resource: T) => Promise<void> | void;
  /** Hard cap on resources alive at once (in use + idle + being created). */
  max: number;
  /** Idle resources kept warm (created at start, replaced when evicted or discarded). */
  minIdle: number;
  /** Idle resources above minIdle are destroyed after this long unused. */
  idleTimeoutMs: number;
  /** Default bound on how long acquire waits for a resource. */
  acquireTimeoutMs: number;
  /** Bound on one create() call. */
  createTimeoutMs?: number;
  /** Called on resources leaving the pool (e.g. a health check); false → destroy and try another. */
  validate?: (resource: T) => boolean;
  now?: () => number;
}

export interface Lease<T> {
  readonly resource: T;
  /** Gives the resource back for reuse. Idempotent. */
  release(): void;
  /** The resource is broken (crashed, hung, errored): destroy it; the pool creates a replacement. */
  discard(reason?: string): void;
}

export interface PoolStats {
  name: string;
  max: number;
  inUse: number;
  idle: number;
  creating: number;
  waiting: number;
  created: number;
  destroyed: number;
  createFailures: number;
  acquireWaitMs: { count: number; p50: number; p99: number; max: number };
  lastError?: string;
}

interface Waiter<T> {
  resolve: (lease: Lease<T>) => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
  startedAt: number;
}

const WAIT_SAMPLES = 256;

/**
 * A bounded pool of expensive resources (speech decoders, synthesizers): acquire with timeout and
 * AbortSignal, a hard cap, a warm minimum, idle eviction, and disposal of broken resources with
 * replacement. Waiters are served in FIFO order.
 */
export class ResourcePool<T> {
  private readonly idle: Array<{ resource: T; since: number }> = [];
  private readonly inUse = new Set<T>();
  private readonly waiters: Waiter<T>[] = [];
  private creating = 0;
  private created = 0;
  private destroyed = 0;
  private createFailures = 0;
  private lastError: string | undefined;
  private closed = false;
  private readonly waitSamples: number[] = [];
  private evictTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: PoolOptions<T>) {
    if (options.max < 1) throw new Error(`pool ${options.name}: max must be at least 1`);
    if (options.minIdle > options.max) throw new Error(`pool ${options.name}: minIdle exceeds max`);
    this.now = options.now ?? Date.now;
  }

  get name(): string {
    return this.options.name;
  }

  /** Creates the warm minimum; rejects if the first resource cannot be created (driver broken). */
  async start(): Promise<void> {
    const interval = Math.max(50, Math.min(this.options.idleTimeoutMs, 30_000));
    this.evictTimer = setInterval(() => this.evictIdle(), interval);
    this.evictTimer.unref();
    await this.fillMinimum(true);
  }

  acquire(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Lease<T>> {
    if (this.closed) return Promise.reject(new DomainError('NOT_AVAILABLE', `pool ${this.name} is closed`));
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
    const startedAt = this.now();
    const ready = this.takeIdle();
    if (ready !== undefined) {
      this.recordWait(0);
      return Promise.resolve(this.lease(ready));
    }
    return new Promise<Lease<T>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.options.acquireTimeoutMs;
      const timer = setTimeout(() => {
        this.removeWaiter(waiter);
        reject(
          new DomainError(
            'TIMEOUT',
            `pool ${this.name}: no resource free within ${timeoutMs} ms (max ${this.options.max})`,
          ),
        );
      }, timeoutMs);
      const onAbort = () => {
        this.removeWaiter(waiter);
        reject(abortError(options.signal!));
      };
      const waiter: Waiter<T> = {
        resolve,
        reject,
        startedAt,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.grow();
    });
  }

  stats(): PoolStats {
    const sorted = [...this.waitSamples].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return {
      name: this.name,
      max: this.options.max,
      inUse: this.inUse.size,
      idle: this.idle.length,
      creating: this.creating,
      waiting: this.waiters.length,
      created: this.created,
      destroyed: this.destroyed,
      createFailures: this.createFailures,
      acquireWaitMs: {
        count: sorted.length,
        p50: pct(0.5),
        p99: pct(0.99),
        max: sorted[sorted.length - 1] ?? 0,
      },
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Rejects waiters, destroys idle resources; leased ones are destroyed when returned. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.evictTimer);
    for (const w of this.waiters.splice(0)) {
      w.cleanup();
      w.reject(new DomainError('NOT_AVAILABLE', `pool ${this.name} closed`));
    }
    await Promise.all(this.idle.splice(0).map(({ resource }) => this.destroy(resource)));
  }

  private get alive(): number {
    return this.idle.length + this.inUse.size + this.creating;
  }

  private takeIdle(): T | undefined {
    while (this.idle.length > 0) {
      const { resource } = this.idle.pop()!; // most recently used: warm caches, lets the oldest expire
      if (!this.options.validate || this.options.validate(resource)) return resource;
      void this.destroy(resource);
    }
    return undefined;
  }

  private lease(resource: T): Lease<T> {
    this.inUse.add(resource);
    let done = false;
    return {
      resource,
      release: () => {
        if (done) return;
        done = true;
        this.inUse.delete(resource);
        if (this.closed) void this.destroy(resource);
        else this.giveBack(resource);
      },
      discard: (reason?: string) => {
        if (done) return;
        done = true;
        this.inUse.delete(resource);
        if (reason) this.lastError = reason;
        void this.destroy(resource).finally(() => {
          if (!this.closed) {
            this.grow();
            void this.fillMinimum(false);
          }
        });
      },
    };
  }

  private giveBack(resource: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.serve(waiter, resource);
      return;
    }
    this.idle.push({ resource, since: this.now() });
  }

  private serve(waiter: Waiter<T>, resource: T): void {
    waiter.cleanup();
    this.recordWait(this.now() - waiter.startedAt);
    waiter.resolve(this.lease(resource));
  }

  /** Creates resources for waiters while under the cap. */
  private grow(): void {
    while (!this.closed && this.waiters.length > this.creating && this.alive < this.options.max) {
      void this.createOne();
    }
  }

  private async fillMinimum(strict: boolean): Promise<void> {
    const missing = Math.min(
      this.options.minIdle - this.idle.length - this.creating,
      this.options.max - this.alive,
    );
    await Promise.all(Array.from({ length: Math.max(0, missing) }, () => this.createOne(strict)));
  }

  /**
   * Creates one resource and hands it over (to the oldest waiter, else to the idle list) before it
   * stops counting as "creating", so the cap holds at every instant.
   */
  private async createOne(strict = false): Promise<void> {
    this.creating++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const created = this.options.create();
      const resource = this.options.createTimeoutMs
        ? await Promise.race([
            created,
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`create timed out after ${this.options.createTimeoutMs} ms`)),
                this.options.createTimeoutMs,
              );
            }),
          ])
        : await created;
      this.created++;
      if (this.closed) void this.destroy(resource);
      else this.giveBack(resource);
    } catch (err) {
      this.createFailures++;
      this.lastError = err instanceof Error ? err.message : String(err);
      if (strict) throw err;
      // A waiter must not hang on a driver that cannot create: fail the oldest one with the reason.
      const w = this.waiters.shift();
      if (w) {
        w.cleanup();
        w.reject(
          new DomainError(
            'PROVIDER_ERROR',
            `pool ${this.name}: could not create a resource: ${this.lastError}`,
          ),
        );
      }
    } finally {
      clearTimeout(timer);
      this.creating--;
    }
  }

  private async destroy(resource: T): Promise<void> {
    this.destroyed++;
    try {
      await this.options.destroy(resource);
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
    }
  }

  private evictIdle(): void {
    const cutoff = this.now() - this.options.idleTimeoutMs;
    // Oldest first (front of the array); keep minIdle.
    while (this.idle.length > this.options.minIdle && this.idle[0].since <= cutoff) {
      void this.destroy(this.idle.shift()!.resource);
    }
  }

  private removeWaiter(waiter: Waiter<T>): void {
    waiter.cleanup();
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  private recordWait(ms: number): void {
    if (this.waitSamples.length >= WAIT_SAMPLES) this.waitSamples.shift();
    this.waitSamples.push(ms);
  }
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new DomainError('TIMEOUT', 'acquire aborted');
}
