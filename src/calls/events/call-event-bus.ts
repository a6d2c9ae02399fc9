import { Injectable } from '@nestjs/common';
import type { CallEvent, CallEventType } from './call-events';

export type CallEventListener = (event: CallEvent) => void | Promise<void>;

/**
 * Where call-level events are published so the media pipeline and the dashboard can react without
 * depending on the calls module. In-process today; a transport (e.g. Redis pub/sub) can be attached to
 * carry them across replicas — `publish` hands every event to it and `deliver` is its entry point.
 */
export interface CallEventTransport {
  send(event: CallEvent): Promise<void>;
}

@Injectable()
export class CallEventBus {
  private readonly listeners = new Map<CallEventType | '*', Set<CallEventListener>>();
  private transport: CallEventTransport | undefined;

  on(type: CallEventType | '*', listener: CallEventListener): () => void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener);
    this.listeners.set(type, set);
    return () => set.delete(listener);
  }

  attachTransport(transport: CallEventTransport): void {
    this.transport = transport;
  }

  /** Delivers to local listeners (and the transport, when attached). Listener failures are isolated. */
  async publish(event: CallEvent): Promise<void> {
    await this.deliver(event);
    await this.transport?.send(event);
  }

  /** Local delivery only (a transport calls this for events from other replicas). */
  async deliver(event: CallEvent): Promise<void> {
    const targets = [...(this.listeners.get(event.type) ?? []), ...(this.listeners.get('*') ?? [])];
    await Promise.allSettled(targets.map(async (l) => l(event)));
  }
}
