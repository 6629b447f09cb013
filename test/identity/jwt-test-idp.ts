/**
 * A tiny identity provider for tests: real signing keys made with jose, published as a JWKS on a real
 * loopback HTTP server (port 0), and a token minter. Keys can be rotated and the endpoint can be made
 * to fail, and every JWKS fetch is counted.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: string, kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export class TestIdp {
  readonly issuer = 'https://idp.acme.test';
  readonly audience = 'https://acme.relay.test/mcp';
  published: TestKey[] = [];
  fetches = 0;
  /** When set, the JWKS endpoint answers with this status instead of the keys. */
  failWith: number | undefined;
  #server: Server | undefined;
  #url = '';

  get jwksUri(): string {
    return this.#url;
  }

  async start(keys: TestKey[]): Promise<this> {
    this.published = keys;
    this.#server = createServer((req, res) => {
      this.fetches += 1;
      if (req.url !== '/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      if (this.failWith !== undefined) {
        res.writeHead(this.failWith).end('unavailable');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: this.published.map((k) => k.publicJwk) }));
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    const { port } = this.#server.address() as AddressInfo;
    this.#url = `http://127.0.0.1:${port}/jwks.json`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A token with sane defaults (issuer, audience, sub, 5 min lifetime), overridable claim by claim. */
  async token(
    key: TestKey,
    claims: JWTPayload = {},
    header: Record<string, unknown> = {},
    opts: { expiresIn?: string | number; issuedAt?: number } = {},
  ): Promise<string> {
    const jwt = new SignJWT({ scope: 'mcp erp.read', client_id: 'vendor-agent', ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : this.issuer)
      .setAudience(claims.aud ?? this.audience)
      .setSubject(typeof claims.sub === 'string' ? claims.sub : 'user-42')
      .setIssuedAt(opts.issuedAt)
      .setJti(crypto.randomUUID());
    if (claims.exp === undefined) jwt.setExpirationTime(opts.expiresIn ?? '5m');
    return jwt.sign(key.privateKey);
  }
}

/** base64url of a JSON value (for hand-made tokens such as `alg: none`). */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
