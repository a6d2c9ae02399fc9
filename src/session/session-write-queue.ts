import type { Logger } from 'pino';
import { SessionStore } from './session-store';
import type { ContextValue, HistoryEntry, SessionPatch, TurnMetrics } from './session.types';

type Op =
  | { kind: 'history'; sessionId: string; entries: HistoryEntry[] }
  | { kind: 'context'; sessionId: string; values: Record<string, ContextValue> }
  | { kind: 'turns'; sessionId: string; metrics: TurnMetrics[] }
  | { kind: 'update'; sessionId: string; patch: SessionPatch };

export interface WriteQueueStats {
  pending: number;
  written: number;
  dropped: number;
  failing: boolean;
}

export interface WriteQueueOptions {
  maxPending: number;
  /** Retry delay bounds while the store is failing. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Conversation writes (history, context, turn metrics) leave the media path through this bounded queue:
 * enqueueing is synchronous and never throws, one drain loop writes in order, and while the store is
 * down it keeps the writes and retries with backoff, logging the outage once (and its end). Only when
 * `maxPending` is exceeded are the oldest writes dropped — counted and logged.
 */
export class SessionWriteQueue {
  private readonly queue: Op[] = [];
  private draining = false;
  private failing = false;
  private written = 0;
  private dropped = 0;
  private lastDropLog = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly store: SessionStore,
    private readonly log: Logger,
    private readonly options: WriteQueueOptions,
  ) {
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 2000;
  }

  appendHistory(sessionId: string, entry: HistoryEntry): void {
    const last = this.queue[this.queue.length - 1];
    // Consecutive entries of one session travel in one write (one RPUSH) — never merged into the head
    // op while it may be in flight.
    const mergeable = last !== undefined && (this.queue.length > 1 || !this.draining);
    if (mergeable && last.kind === 'history' && last.sessionId === sessionId) last.entries.push(entry);
    else this.push({ kind: 'history', sessionId, entries: [entry] });
  }

  setContext(sessionId: string, values: Record<string, ContextValue>): void {
    this.push({ kind: 'context', sessionId, values });
  }

  recordTurn(sessionId: string, metrics: TurnMetrics): void {
    this.push({ kind: 'turns', sessionId, metrics: [metrics] });
  }

  update(sessionId: string, patch: SessionPatch): void {
    this.push({ kind: 'update', sessionId, patch });
  }

  stats(): WriteQueueStats {
    return {
      pending: this.queue.length,
      written: this.written,
      dropped: this.dropped,
      failing: this.failing,
    };
  }

  /** Waits until every queued write is stored, or `timeoutMs` passes; true when empty. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      this.kick();
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, deadline - Date.now()))));
    }
    return this.queue.length === 0;
  }

  /** Stops retrying; pending writes are reported and abandoned (call flush first). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.queue.length > 0) {
      this.log.error(
        { pending: this.queue.length },
        'session write queue closed with unwritten conversation writes',
      );
    }
  }

  private push(op: Op): void {
    if (this.closed) {
      this.dropped++;
      return;
    }
    this.queue.push(op);
    if (this.queue.length > this.options.maxPending) {
      this.queue.shift();
      this.dropped++;
      const now = Date.now();
      if (now - this.lastDropLog > 5000) {
        this.lastDropLog = now;
        this.log.error(
          { dropped: this.dropped, maxPending: this.options.maxPending },
          'session write queue full: dropping the oldest conversation writes (session store unreachable?)',
        );
      }
    }
    this.kick();
  }

  private kick(): void {
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    let backoff = this.minBackoffMs;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const op = this.queue[0];
        try {
          await this.write(op);
          if (this.queue[0] === op) this.queue.shift();
          this.written++;
          backoff = this.minBackoffMs;
          if (this.failing) {
            this.failing = false;
            this.log.info(
              { pending: this.queue.length },
              'session store reachable again: flushing buffered conversation writes',
            );
          }
        } catch (err) {
          if (!this.failing) {
            this.failing = true;
            this.log.error(
              {
                err: { message: err instanceof Error ? err.message : String(err) },
                pending: this.queue.length,
              },
              'session store write failed: buffering conversation writes and retrying',
            );
          }
          // Failing: wait (a new write does not shorten the backoff) and retry the same op.
          await new Promise<void>((resolve) => {
            this.retryTimer = setTimeout(resolve, backoff);
            this.retryTimer.unref();
          });
          backoff = Math.min(backoff * 2, this.maxBackoffMs);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private write(op: Op): Promise<void> {
    switch (op.kind) {
      case 'history':
        return this.store.appendHistory(op.sessionId, op.entries);
      case 'context':
        return this.store.setContext(op.sessionId, op.values);
      case 'turns':
        return this.store.appendTurnMetrics(op.sessionId, op.metrics);
      case 'update':
        return this.store.update(op.sessionId, op.patch);
    }
  }
}
