import type { Logger } from 'pino';
import type { SessionStore } from '../session/session-store';
import { parseCallbackElement, type CallEvent } from './events/call-events';

export interface CallbackReceipt {
  accepted: number;
  duplicates: number;
  unknown: number;
  rejected: Array<{ index: number; reason: string }>;
}

export type CallEventHandler = (event: CallEvent) => Promise<void>;

const DEDUPE_TTL_SECONDS = 24 * 3600;

/**
 * Accepts ACS callback batches: every element is parsed, de-duplicated by event id through the session
 * store (so an ACS retry landing on another replica is also dropped), and handed to the handler in the
 * background — the HTTP answer does not wait for slow handlers. Accepted events are tracked until
 * handled; shutdown waits for them (`drain`).
 */
export class CallbackProcessor {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly unknownSeen = new Set<string>();
  readonly counters = { accepted: 0, duplicates: 0, unknown: 0, rejected: 0, failed: 0 };

  constructor(
    private readonly store: SessionStore,
    private readonly handle: CallEventHandler,
    private readonly log: Logger,
  ) {}

  /** `sessionId`: the session named by the callback URL, attached to every event as a hint. */
  async accept(elements: unknown[], sessionId?: string): Promise<CallbackReceipt> {
    const receipt: CallbackReceipt = { accepted: 0, duplicates: 0, unknown: 0, rejected: [] };
    for (const [index, element] of elements.entries()) {
      const parsed = parseCallbackElement(element);
      if (!parsed.ok) {
        if (parsed.unknownType) {
          receipt.unknown++;
          this.counters.unknown++;
          if (!this.unknownSeen.has(parsed.unknownType)) {
            this.unknownSeen.add(parsed.unknownType);
            this.log.warn(
              { eventType: parsed.unknownType },
              'unknown ACS callback event type (acknowledged, not handled)',
            );
          }
        } else {
          receipt.rejected.push({ index, reason: parsed.reason });
          this.counters.rejected++;
        }
        continue;
      }
      if (!(await this.store.claimOnce(`acs-event:${parsed.event.id}`, DEDUPE_TTL_SECONDS))) {
        receipt.duplicates++;
        this.counters.duplicates++;
        continue;
      }
      receipt.accepted++;
      this.counters.accepted++;
      this.track(sessionId ? { ...parsed.event, sessionId } : parsed.event);
    }
    if (receipt.rejected.length > 0)
      this.log.warn({ rejected: receipt.rejected }, 'invalid ACS callback elements rejected');
    return receipt;
  }

  /** Resolves when every accepted event has been handled (or `timeoutMs` passes). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise((r) => {
          timer = setTimeout(r, Math.max(1, deadline - Date.now()));
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    return this.inFlight.size === 0;
  }

  private track(event: CallEvent): void {
    const task = this.handle(event)
      .catch((err: unknown) => {
        this.counters.failed++;
        this.log.error(
          { err, eventType: event.type, callConnectionId: event.callConnectionId },
          'ACS callback handler failed',
        );
      })
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }
}
