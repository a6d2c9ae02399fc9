import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { CallAdmission, type CallLease } from '../lifecycle/call-admission.service';

/** A call this replica answered or dialled, but whose CallConnected it has not seen, gives its slot back after this. */
export const CALL_SETUP_TIMEOUT_MS = 90_000;
/** After CallConnected, the call's media socket has this long to take its own lease on the slot. */
export const MEDIA_HANDOVER_MS = 15_000;

interface Held {
  lease: CallLease;
  setupTimer?: NodeJS.Timeout;
}

/**
 * Call-control leases on this replica's call capacity, keyed by session id. They reserve the slot while
 * a call is being set up; the call's media socket takes its own lease under the same id (one slot for
 * both) and holds it for the conversation. The control lease is returned when the call ends or fails,
 * MEDIA_HANDOVER_MS after CallConnected, or after CALL_SETUP_TIMEOUT_MS if this replica never hears of
 * the call again (its callbacks went to another replica) — so no path leaks a slot.
 */
@Injectable()
export class CallLeases implements OnModuleDestroy {
  private readonly held = new Map<string, Held>();

  constructor(private readonly admission: CallAdmission) {}

  /** Takes a slot (throws CAPACITY_EXCEEDED / DRAINING); `release(sessionId)` or a timeout returns it. */
  acquire(sessionId: string): void {
    if (this.held.has(sessionId)) return;
    const lease = this.admission.admit(sessionId);
    const setupTimer = setTimeout(() => this.release(sessionId), CALL_SETUP_TIMEOUT_MS);
    setupTimer.unref();
    this.held.set(sessionId, { lease, setupTimer });
  }

  /** The call connected: keep the slot a little longer, for the media socket to take it over. */
  connected(sessionId: string): void {
    const held = this.held.get(sessionId);
    if (!held) return;
    clearTimeout(held.setupTimer);
    held.setupTimer = setTimeout(() => this.release(sessionId), MEDIA_HANDOVER_MS);
    held.setupTimer.unref();
  }

  release(sessionId: string): void {
    const held = this.held.get(sessionId);
    if (!held) return;
    clearTimeout(held.setupTimer);
    this.held.delete(sessionId);
    held.lease.release();
  }

  get size(): number {
    return this.held.size;
  }

  onModuleDestroy(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }
}
