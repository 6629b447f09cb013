/**
 * DPoP (RFC 9449) end to end: the IdP (real JWKS on loopback) issues a token bound to the agent's key
 * (`cnf.jkt`), the agent signs a proof per request, and the connector verifies token then proof. Only
 * the matching, fresh, first-use proof passes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, type JWK, SignJWT } from 'jose';
import { MemoryReplayCache } from '../../src/identity/dpop-replay-cache.js';
import {
  accessTokenHash,
  createDpopVerifier,
  type DpopProofInput,
  normalizeHtu,
} from '../../src/identity/dpop-verifier.js';
import { TokenError } from '../../src/identity/jwt-token-error.js';
import { createJwtVerifier, type VerifiedToken } from '../../src/identity/jwt-verifier.js';
import { makeKey, TestIdp, type TestKey } from './jwt-test-idp.js';

const URL_ = 'https://acme.relay.test/mcp';

const refusedWith =
  (code: string, status = 401) =>
  (e: unknown) => {
    assert.ok(e instanceof TokenError, `expected TokenError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.httpStatus, status);
    return true;
  };

interface ProofOptions {
  key?: TestKey;
  htm?: string;
  htu?: string;
  ath?: string | null;
  jti?: string;
  iat?: number;
  header?: Record<string, unknown>;
  /** Sign with this key while embedding `key`'s public JWK. */
  signWith?: TestKey;
}

const idp = new TestIdp();
let idpKey: TestKey;
let agentKey: TestKey;
let otherAgentKey: TestKey;
let accessToken: string;
let token: VerifiedToken;

before(async () => {
  idpKey = await makeKey('ES256', 'idp-1');
  agentKey = await makeKey('ES256', 'agent');
  otherAgentKey = await makeKey('EdDSA', 'other-agent');
  await idp.start([idpKey]);
  const jkt = await calculateJwkThumbprint(await exportJWK(agentKey.publicKey), 'sha256');
  accessToken = await idp.token(idpKey, { cnf: { jkt } });
  const jwt = createJwtVerifier({ issuer: idp.issuer, audience: idp.audience, jwksUri: idp.jwksUri });
  token = await jwt.verify(accessToken);
  assert.equal(token.cnfJkt, jkt);
});
after(() => idp.close());

async function proof(opts: ProofOptions = {}): Promise<string> {
  const key = opts.key ?? agentKey;
  const claims: Record<string, unknown> = {
    htm: opts.htm ?? 'POST',
    htu: opts.htu ?? URL_,
    jti: opts.jti ?? randomUUID(),
  };
  if (opts.ath !== null) claims.ath = opts.ath ?? accessTokenHash(accessToken);
  const jwk: JWK = await exportJWK(key.publicKey);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: (opts.signWith ?? key).alg, typ: 'dpop+jwt', jwk, ...opts.header })
    .setIssuedAt(opts.iat)
    .sign((opts.signWith ?? key).privateKey);
}

const input = (p: string, extra: Partial<DpopProofInput> = {}): DpopProofInput => ({
  proof: p,
  method: 'POST',
  url: URL_,
  accessToken,
  expectedJkt: token.cnfJkt,
  ...extra,
});

describe('DPoP proof verification: replay and binding', () => {
  test('a valid proof is accepted once; the same proof again is a replay', async () => {
    const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache() });
    const p = await proof();
    const verified = await dpop.verify(input(p));
    assert.equal(verified.jkt, token.cnfJkt);
    assert.ok(Math.abs(verified.issuedAt - Date.now()) < 5_000);
    await assert.rejects(dpop.verify(input(p)), refusedWith('AIRLOCK_DPOP_REPLAY'));
    // A fresh proof (new jti) for the next request is fine.
    assert.equal((await dpop.verify(input(await proof()))).jkt, token.cnfJkt);
  });

  test('concurrent submissions of one proof: exactly one wins', async () => {
    const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache() });
    const p = await proof();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => dpop.verify(input(p))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') refusedWith('AIRLOCK_DPOP_REPLAY')(r.reason);
  });

  test('htu is compared without query and fragment, after normalization', async () => {
    const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache() });
    const p = await proof({ htu: 'HTTPS://Acme.Relay.Test:443/mcp' });
    assert.ok(await dpop.verify(input(p, { url: 'https://acme.relay.test/mcp?session=1#frag' })));
    assert.equal(normalizeHtu('https://a.example:443/x/../mcp?q#f'), 'https://a.example/mcp');
    assert.equal(normalizeHtu('not a url'), undefined);
  });

  test('wrong htu, htm, ath or key binding are refused with their own codes', async () => {
    const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache() });
    await assert.rejects(
      dpop.verify(input(await proof({ htu: 'https://acme.relay.test/admin' }))),
      refusedWith('AIRLOCK_DPOP_HTU'),
    );
    await assert.rejects(
      dpop.verify(input(await proof({ htu: 'https://globex.relay.test/mcp' }))),
      refusedWith('AIRLOCK_DPOP_HTU'),
    );
    await assert.rejects(dpop.verify(input(await proof({ htm: 'GET' }))), refusedWith('AIRLOCK_DPOP_HTM'));
    await assert.rejects(dpop.verify(input(await proof({ htm: 'post' }))), refusedWith('AIRLOCK_DPOP_HTM'));
    // A proof made for another access token.
    const otherToken = await idp.token(idpKey, { cnf: { jkt: token.cnfJkt } });
    await assert.rejects(
      dpop.verify(input(await proof({ ath: accessTokenHash(otherToken) }))),
      refusedWith('AIRLOCK_DPOP_ATH'),
    );
    await assert.rejects(dpop.verify(input(await proof({ ath: null }))), refusedWith('AIRLOCK_DPOP_INVALID'));
    // A valid proof by a different key than the token is bound to: someone else's stolen token.
    await assert.rejects(dpop.verify(input(await proof({ key: otherAgentKey }))), (e: unknown) => {
      refusedWith('AIRLOCK_DPOP_JKT')(e);
      assert.equal((e as TokenError).oauthError, 'invalid_token');
      return true;
    });
    // A token that is not DPoP-bound cannot be used with the DPoP scheme.
    await assert.rejects(
      dpop.verify(input(await proof(), { expectedJkt: undefined })),
      refusedWith('AIRLOCK_DPOP_JKT'),
    );
  });
});

describe('DPoP proof verification: freshness and form', () => {
  test('refused proofs do not burn their jti: the genuine proof with that id still passes', async () => {
    const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache() });
    const jti = randomUUID();
    await assert.rejects(
      dpop.verify(input(await proof({ jti, htm: 'GET' }))),
      refusedWith('AIRLOCK_DPOP_HTM'),
    );
    assert.ok(await dpop.verify(input(await proof({ jti }))));
    await assert.rejects(dpop.verify(input(await proof({ jti }))), refusedWith('AIRLOCK_DPOP_REPLAY'));
  });

  test('stale and future-dated proofs are refused', async () => {
    const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache(), maxAgeSec: 60 });
    const nowSec = Math.floor(Date.now() / 1000);
    await assert.rejects(
      dpop.verify(input(await proof({ iat: nowSec - 300 }))),
      refusedWith('AIRLOCK_DPOP_IAT'),
    );
    await assert.rejects(
      dpop.verify(input(await proof({ iat: nowSec + 300 }))),
      refusedWith('AIRLOCK_DPOP_IAT'),
    );
    assert.ok(await dpop.verify(input(await proof({ iat: nowSec - 30 }))));
  });

  test('wrong typ, symmetric alg, private or missing jwk, and foreign signatures are invalid', async () => {
    const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache() });
    await assert.rejects(
      dpop.verify(input(await proof({ header: { typ: 'JWT' } }))),
      refusedWith('AIRLOCK_DPOP_INVALID'),
    );
    const hs = await new SignJWT({
      htm: 'POST',
      htu: URL_,
      jti: randomUUID(),
      ath: accessTokenHash(accessToken),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: agentKey.publicJwk })
      .setIssuedAt()
      .sign(new TextEncoder().encode('a-shared-secret-of-sufficient-length'));
    await assert.rejects(dpop.verify(input(hs)), refusedWith('AIRLOCK_DPOP_INVALID'));
    const privateJwk = await exportJWK(agentKey.privateKey);
    await assert.rejects(
      dpop.verify(input(await proof({ header: { jwk: privateJwk } }))),
      refusedWith('AIRLOCK_DPOP_INVALID'),
    );
    await assert.rejects(
      dpop.verify(input(await proof({ header: { jwk: undefined } }))),
      refusedWith('AIRLOCK_DPOP_INVALID'),
    );
    // Embeds the agent's public key but is signed by another ES256 key.
    const impostor = await makeKey('ES256', 'impostor');
    await assert.rejects(
      dpop.verify(input(await proof({ signWith: impostor }))),
      refusedWith('AIRLOCK_DPOP_INVALID'),
    );
    await assert.rejects(
      dpop.verify(input(undefined as unknown as string)),
      refusedWith('AIRLOCK_DPOP_INVALID'),
    );
    await assert.rejects(dpop.verify(input('not.a.proof')), refusedWith('AIRLOCK_DPOP_INVALID'));
  });
});

describe('DPoP proof verification: replay cache and configuration', () => {
  test('MemoryReplayCache: forgets ids after they expire, refuses (503) or evicts when full', async () => {
    let now = 1_000;
    const cache = new MemoryReplayCache({ maxEntries: 2, now: () => now });
    assert.equal(cache.checkAndRecord('a', 2_000), true);
    assert.equal(cache.checkAndRecord('a', 2_000), false);
    assert.equal(cache.checkAndRecord('b', 3_000), true);
    assert.throws(() => cache.checkAndRecord('c', 3_000), refusedWith('AIRLOCK_DPOP_CACHE_FULL', 503));
    now = 2_000; // 'a' expired: its slot is free and the id is usable again
    assert.equal(cache.checkAndRecord('c', 4_000), true);
    assert.equal(cache.size, 2);
    assert.equal(cache.checkAndRecord('c', 4_000), false);
    now = 3_000; // 'b' expired
    assert.equal(cache.checkAndRecord('a', 5_000), true);
    assert.equal(cache.checkAndRecord('c', 4_000), false);
  });

  test('MemoryReplayCache in evict-oldest mode keeps accepting new ids', () => {
    const cache = new MemoryReplayCache({ maxEntries: 2, whenFull: 'evict-oldest', now: () => 0 });
    assert.equal(cache.checkAndRecord('a', 10), true);
    assert.equal(cache.checkAndRecord('b', 10), true);
    assert.equal(cache.checkAndRecord('c', 10), true);
    assert.equal(cache.size, 2);
    assert.equal(cache.checkAndRecord('b', 10), false);
    assert.equal(cache.checkAndRecord('c', 10), false);
  });

  test('symmetric DPoP algorithms cannot be configured', () => {
    assert.throws(
      () => createDpopVerifier({ replayCache: new MemoryReplayCache(), algorithms: ['HS256'] }),
      (e: unknown) => (e as { code?: string }).code === 'AIRLOCK_TOKEN_CONFIG',
    );
  });
});
