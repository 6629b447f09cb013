/**
 * Test kit for OAuth at the connector's agent endpoint: the loopback IdP (real JWKS, see
 * test/identity/jwt-test-idp.ts) with an RSA and an EC key, verifiers for this tenant's resource URL,
 * DPoP proofs made with jose, and fetch wrappers that add `Authorization` / `DPoP` / end-user headers to
 * every request an SDK transport makes.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { MemoryReplayCache } from '../../src/identity/dpop-replay-cache.js';
import { accessTokenHash, createDpopVerifier, type DpopVerifier } from '../../src/identity/dpop-verifier.js';
import { createJwtVerifier, type JwtVerifier } from '../../src/identity/jwt-verifier.js';
import { TENANT_HOST, type TestFetch } from '../fixtures/tenant-tls-kit.js';
import { makeKey, TestIdp, type TestKey } from '../identity/jwt-test-idp.js';

/** This connector's resource identifier (as reached through the relay on 443). */
export const RESOURCE = `https://${TENANT_HOST}/mcp`;
export const METADATA_URL = `https://${TENANT_HOST}/.well-known/oauth-protected-resource/mcp`;

export interface IdpKit {
  idp: TestIdp;
  rsa: TestKey;
  es: TestKey;
  verifier: JwtVerifier;
  dpop: DpopVerifier;
  /** A token for RESOURCE with scope `mcp erp.read`, `sub` = user-42 unless overridden. */
  token(claims?: Record<string, unknown>, key?: TestKey): Promise<string>;
  close(): Promise<void>;
}

export async function startIdp(): Promise<IdpKit> {
  const rsa = await makeKey('RS256', 'rsa-1');
  const es = await makeKey('ES256', 'es-1');
  const idp = await new TestIdp().start([rsa, es]);
  return {
    idp,
    rsa,
    es,
    verifier: createJwtVerifier({ issuer: idp.issuer, audience: RESOURCE, jwksUri: idp.jwksUri }),
    dpop: createDpopVerifier({ replayCache: new MemoryReplayCache() }),
    token: (claims = {}, key = rsa) => idp.token(key, { aud: RESOURCE, ...claims }),
    close: () => idp.close(),
  };
}

/** A DPoP proof (RFC 9449) for one request. */
export async function dpopProof(
  key: TestKey,
  method: string,
  url: string,
  accessToken: string,
  jti: string = randomUUID(),
): Promise<string> {
  return new SignJWT({ htm: method, htu: url, jti, ath: accessTokenHash(accessToken) })
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
    .setIssuedAt()
    .sign(key.privateKey);
}

/** Adds headers (computed per request) to every request of `base`. */
export function withHeaders(
  base: TestFetch,
  headers: (method: string, url: string) => Promise<Record<string, string>> | Record<string, string>,
): TestFetch {
  return async (url, init) => {
    const merged = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    for (const [k, v] of Object.entries(await headers(method, String(url)))) merged.set(k, v);
    return base(url, { ...init, headers: merged });
  };
}

/** `Authorization: DPoP <token>` plus a fresh proof on every request. */
export function dpopFetch(base: TestFetch, key: TestKey, accessToken: string): TestFetch {
  return withHeaders(base, async (method, url) => ({
    authorization: `DPoP ${accessToken}`,
    dpop: await dpopProof(key, method, url, accessToken),
  }));
}

export { makeKey, type TestKey };
