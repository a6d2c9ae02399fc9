import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';

export interface WsUpgradePolicy {
  /** Rejects (with a DomainError) to refuse the upgrade with an HTTP error before any WS frame. */
  verify?: (request: IncomingMessage) => Promise<void>;
  /** Largest message accepted; a larger one closes the socket with 1009. */
  maxPayload?: number;
}

/**
 * Per-path WebSocket server options that need DI (the JWT verifier, configured limits), which
 * `@WebSocketGateway` metadata cannot carry. Gateways register here; the WS adapter applies them.
 */
@Injectable()
export class WsUpgradePolicies {
  private readonly policies = new Map<string, WsUpgradePolicy>();

  set(path: string, policy: WsUpgradePolicy): void {
    this.policies.set(path, policy);
  }

  get(path: string | undefined): WsUpgradePolicy | undefined {
    return path === undefined ? undefined : this.policies.get(path);
  }
}
