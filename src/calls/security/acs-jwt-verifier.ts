import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { DomainError } from '../../common/errors';

export interface AcsJwtOptions {
  /** Expected audience: the ACS resource's immutable id. Unset → verification is off. */
  audience?: string;
  issuer: string;
  jwksUrl: string;
  /** Bound on fetching the key set. */
  jwksTimeoutMs?: number;
  /** Keys are cached this long; an unknown key id refetches at most once per cooldown. */
  jwksCacheMaxAgeMs?: number;
  clockToleranceSeconds?: number;
}

export type JwtCheck = { verified: true; claims: JWTPayload } | { verified: false; skipped: true };

/**
 * Verifies the JWT ACS sends in the Authorization header of callbacks and media WebSocket upgrades:
 * signature against the configured JWKS (cached), issuer, audience and expiry. With no audience
 * configured verification is off (the service warns at boot) and every request passes as unverified.
 */
export class AcsJwtVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(private readonly options: AcsJwtOptions) {
    this.jwks = options.audience
      ? createRemoteJWKSet(new URL(options.jwksUrl), {
          timeoutDuration: options.jwksTimeoutMs ?? 5000,
          cacheMaxAge: options.jwksCacheMaxAgeMs ?? 10 * 60_000,
          cooldownDuration: 30_000,
        })
      : undefined;
  }

  get enabled(): boolean {
    return this.jwks !== undefined;
  }

  /** Checks an `Authorization` header value; rejects with UNAUTHORIZED naming what is wrong. */
  async verify(authorization: string | string[] | undefined): Promise<JwtCheck> {
    if (!this.jwks) return { verified: false, skipped: true };
    const header = Array.isArray(authorization) ? authorization[0] : authorization;
    const token = header && /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) throw new DomainError('UNAUTHORIZED', 'missing ACS bearer token');
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['exp'],
      });
      return { verified: true, claims: payload };
    } catch (err) {
      throw new DomainError('UNAUTHORIZED', `invalid ACS token: ${describe(err)}`, undefined, { cause: err });
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `${err.claim} claim mismatch`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'signed by an unknown key';
  if (err instanceof errors.JWKSTimeout) return 'key set fetch timed out';
  if (err instanceof errors.JOSEError) return err.code;
  return err instanceof Error ? err.message : String(err);
}
