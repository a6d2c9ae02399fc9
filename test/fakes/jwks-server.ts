import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';

/** A local JWKS endpoint with generated RSA keys, and a signer for test tokens (valid or not). */
export class JwksServer {
  private server: Server | undefined;
  private signing: { kid: string; privateKey: KeyLike } | undefined;
  private published: Record<string, unknown>[] = [];
  requests = 0;

  async start(): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    this.signing = { kid: 'test-key-1', privateKey };
    this.published = [{ ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' }];
    this.server = createServer((_req, res) => {
      this.requests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: this.published }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/calling/keys`;
  }

  /** A token signed with the published key (or `otherKey` to sign with a key the JWKS does not know). */
  async token(
    claims: JWTPayload,
    options: { issuer: string; audience: string; expiresIn?: string; otherKey?: boolean },
  ) {
    let key = this.signing!.privateKey;
    let kid = this.signing!.kid;
    if (options.otherKey) {
      key = (await generateKeyPair('RS256')).privateKey;
      kid = 'test-key-1'; // same kid, different key: the signature must not verify
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(key);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}
