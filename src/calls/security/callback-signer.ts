import { createHmac } from 'node:crypto';
import { safeEqual } from '../../common/auth/admin-auth.guard';

/**
 * Defence in depth for ACS callbacks: each call's callback URL carries an HMAC of its session id, so
 * a callback for a session must come from whoever received that URL. Enforced only when
 * CALLBACK_SIGNING_SECRET is set.
 */
export class CallbackSigner {
  constructor(private readonly secret: string | undefined) {}

  get enabled(): boolean {
    return Boolean(this.secret);
  }

  sign(sessionId: string): string | undefined {
    return this.secret
      ? createHmac('sha256', this.secret).update(`voxline-callback:${sessionId}`).digest('base64url')
      : undefined;
  }

  verify(sessionId: string | undefined, token: string | undefined): boolean {
    if (!this.secret) return true;
    if (!sessionId || !token) return false;
    return safeEqual(token, this.sign(sessionId)!);
  }
}
