import type { IncomingMessage } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { WebSocket } from 'ws';
import { isDomainError } from '../errors';
import { WsUpgradePolicies } from './ws-upgrade-policies';

type VerifyCallback = (ok: boolean, status?: number, message?: string) => void;

/**
 * Nest's ws adapter with two changes: per-path policies (upgrade verification, payload limit) from
 * `WsUpgradePolicies`, and no JSON parse of every message for gateways without @SubscribeMessage
 * handlers (the media gateway decodes the ACS protocol itself; parsing each frame twice would double
 * the cost of the hottest path).
 */
export class VoxlineWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly policies: WsUpgradePolicies,
  ) {
    super(app);
  }

  override create(port: number, options: Record<string, unknown> & { path?: string } = {}) {
    const policy = this.policies.get(options.path);
    const verify = policy?.verify;
    return super.create(port, {
      ...options,
      ...(policy?.maxPayload ? { maxPayload: policy.maxPayload } : {}),
      ...(verify
        ? {
            verifyClient: (info: { req: IncomingMessage }, done: VerifyCallback) => {
              verify(info.req).then(
                () => done(true),
                (err: unknown) =>
                  isDomainError(err)
                    ? done(false, err.status, err.message)
                    : done(false, 500, 'upgrade check failed'),
              );
            },
          }
        : {}),
    });
  }

  override bindMessageHandlers(
    client: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (handlers.length === 0) return;
    super.bindMessageHandlers(client, handlers, transform);
  }
}
