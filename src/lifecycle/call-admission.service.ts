import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config';
import { DomainError } from '../common/errors';
import { ReadinessRegistry } from '../health/readiness.registry';

export interface CallLease {
  readonly callId: string;
  release(): void;
}

/**
 * Owns this replica's call capacity and its draining state. Every call (inbound answer, dial-out,
 * media socket) takes a lease and releases it when it ends; on SIGTERM admissions stop and shutdown
 * waits for the leases to be returned, up to SHUTDOWN_DRAIN_SECONDS.
 */
@Injectable()
export class CallAdmission implements OnModuleInit {
  /** Leases held per call: call control and the media socket may both hold one for the same call. */
  private readonly active = new Map<string, number>();
  private draining = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly config: AppConfig,
    private readonly readiness: ReadinessRegistry,
  ) {}

  onModuleInit(): void {
    this.readiness.register('calls', () => ({
      state: this.draining || this.active.size >= this.capacity ? 'down' : 'up',
      critical: true,
      details: { active: this.active.size, capacity: this.capacity, draining: this.draining },
    }));
  }

  get capacity(): number {
    return this.config.server.maxConcurrentCalls;
  }

  get activeCount(): number {
    return this.active.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Takes a slot for a call, or throws DRAINING / CAPACITY_EXCEEDED. Several leases for the same call
   * id share one slot, which is freed when the last of them is released.
   */
  admit(callId: string): CallLease {
    // A call already admitted (e.g. answered, now opening its media socket) keeps going while draining.
    if (this.draining && !this.active.has(callId))
      throw new DomainError('DRAINING', 'this replica is shutting down and takes no new calls');
    if (!this.active.has(callId) && this.active.size >= this.capacity) {
      throw new DomainError(
        'CAPACITY_EXCEEDED',
        `this replica is at its limit of ${this.capacity} concurrent calls`,
      );
    }
    this.active.set(callId, (this.active.get(callId) ?? 0) + 1);
    let released = false;
    return {
      callId,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.active.get(callId) ?? 1) - 1;
        if (left > 0) this.active.set(callId, left);
        else this.active.delete(callId);
        if (this.active.size === 0) this.notifyIdle();
      },
    };
  }

  /** Stops admitting calls; /ready turns 503 so the load balancer stops routing here. */
  startDrain(): void {
    this.draining = true;
  }

  /** Resolves true when no call is active, false if `timeoutMs` passes first. */
  waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.idleWaiters = this.idleWaiters.filter((w) => w !== onIdle);
        resolve(idle);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.push(onIdle);
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
