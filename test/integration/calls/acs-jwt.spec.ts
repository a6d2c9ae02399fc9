import { AcsJwtVerifier } from '../../../src/calls/security/acs-jwt-verifier';
import { CallbackSigner } from '../../../src/calls/security/callback-signer';
import { JwksServer } from '../../fakes/jwks-server';

const ISSUER = 'https://acscallautomation.communication.azure.com';
const AUDIENCE = '0a1b2c3d-acs-resource-immutable-id';

describe('ACS JWT verification (local JWKS server with generated keys)', () => {
  const jwks = new JwksServer();
  let verifier: AcsJwtVerifier;
  beforeAll(async () => {
    await jwks.start();
    verifier = new AcsJwtVerifier({
      audience: AUDIENCE,
      issuer: ISSUER,
      jwksUrl: jwks.url,
      clockToleranceSeconds: 0,
    });
  });
  afterAll(() => jwks.close());

  it('accepts only the valid token: expired, wrong audience, wrong key and missing are rejected', async () => {
    const valid = await jwks.token({}, { issuer: ISSUER, audience: AUDIENCE });
    await expect(verifier.verify(`Bearer ${valid}`)).resolves.toMatchObject({
      verified: true,
      claims: { aud: AUDIENCE, iss: ISSUER },
    });

    const expired = await jwks.token(
      { exp: Math.floor(Date.now() / 1000) - 60 },
      { issuer: ISSUER, audience: AUDIENCE, expiresIn: '-1m' },
    );
    await expect(verifier.verify(`Bearer ${expired}`)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'invalid ACS token: expired',
    });

    const wrongAudience = await jwks.token({}, { issuer: ISSUER, audience: 'someone-else' });
    await expect(verifier.verify(`Bearer ${wrongAudience}`)).rejects.toMatchObject({
      message: 'invalid ACS token: aud claim mismatch',
    });

    const wrongKey = await jwks.token({}, { issuer: ISSUER, audience: AUDIENCE, otherKey: true });
    await expect(verifier.verify(`Bearer ${wrongKey}`)).rejects.toMatchObject({
      message: 'invalid ACS token: signature does not verify',
    });

    await expect(verifier.verify(undefined)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'missing ACS bearer token',
    });
    await expect(verifier.verify('Basic abc')).rejects.toMatchObject({ message: 'missing ACS bearer token' });
  });

  it('caches the key set instead of fetching it per request', async () => {
    const before = jwks.requests;
    for (let i = 0; i < 5; i++)
      await verifier.verify(`Bearer ${await jwks.token({}, { issuer: ISSUER, audience: AUDIENCE })}`);
    expect(jwks.requests - before).toBe(0);
  });

  it('is off when no audience is configured', async () => {
    const off = new AcsJwtVerifier({ issuer: ISSUER, jwksUrl: jwks.url });
    expect(off.enabled).toBe(false);
    await expect(off.verify(undefined)).resolves.toEqual({ verified: false, skipped: true });
  });
});

describe('per-call callback token', () => {
  it('verifies the HMAC of the session id, constant-time, only when a secret is set', () => {
    const signer = new CallbackSigner('a-callback-signing-secret');
    const token = signer.sign('sess-1')!;
    expect(signer.verify('sess-1', token)).toBe(true);
    expect(signer.verify('sess-2', token)).toBe(false);
    expect(signer.verify('sess-1', undefined)).toBe(false);
    expect(signer.verify('sess-1', `${token}x`)).toBe(false);
    expect(new CallbackSigner(undefined).verify(undefined, undefined)).toBe(true);
  });
});
