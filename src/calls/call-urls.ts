import type { AppConfig } from '../config';
import { CallbackSigner } from './security/callback-signer';

/** Callback and media URLs handed to ACS for a session (with the per-call token when configured). */
export class CallUrls {
  private readonly base: string;
  constructor(
    config: AppConfig,
    private readonly signer: CallbackSigner,
  ) {
    this.base = config.server.publicBaseUrl ?? `http://localhost:${config.server.port}`;
  }

  callbackUri(sessionId: string): string {
    const url = new URL('/api/v1/calls/callbacks', this.base);
    url.searchParams.set('session', sessionId);
    const token = this.signer.sign(sessionId);
    if (token) url.searchParams.set('token', token);
    return url.toString();
  }

  mediaTransportUrl(sessionId: string): string {
    const url = new URL('/api/v1/media/stream', this.base.replace(/^http/, 'ws'));
    url.searchParams.set('session', sessionId);
    return url.toString();
  }
}
