/**
 * Bearer JWT verification against a real JWKS endpoint on loopback: only the valid tokens pass, and
 * each refusal carries the right code and HTTP status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportSPKI, SignJWT } from 'jose';
import { IdentityError } from '../../src/errors/airlock-error.js';
import { TokenError } from '../../src/identity/jwt-token-error.js';
import { createJwtVerifier, type JwtVerifierOptions } from '../../src/identity/jwt-verifier.js';
import { b64json, makeKey, TestIdp, type TestKey } from './jwt-test-idp.js';

const refusedWith =
  (code: string, status: number = 401) =>
  (e: unknown) => {
    assert.ok(e instanceof TokenError, `expected TokenError, got ${String(e)}`);
    assert.ok(e instanceof IdentityError);
    assert.equal(e.code, code, e.message);
    assert.equal(e.httpStatus, status);
    return true;
  };

const idp = new TestIdp();
let rsa: TestKey;
let keys: Record<string, TestKey>;

before(async () => {
  rsa = await makeKey('RS256', 'rsa-1');
  keys = {
    RS256: rsa,
    ES256: await makeKey('ES256', 'ec-1'),
    EdDSA: await makeKey('EdDSA', 'ed-1'),
    PS256: await makeKey('PS256', 'ps-1'),
  };
  await idp.start(Object.values(keys));
});
after(() => idp.close());

const verifier = (extra: Partial<JwtVerifierOptions> = {}) =>
  createJwtVerifier({ issuer: idp.issuer, audience: idp.audience, jwksUri: idp.jwksUri, ...extra });

describe('JWT bearer verification: valid tokens and time', () => {
  test('a valid token is accepted with every default algorithm, and its claims are surfaced', async () => {
    const v = verifier();
    for (const [alg, key] of Object.entries(keys)) {
      const token = await idp.token(key, { scp: undefined });
      const verified = await v.verify(token);
      assert.equal(verified.subject, 'user-42', alg);
      assert.equal(verified.issuer, idp.issuer);
      assert.equal(verified.clientId, 'vendor-agent');
      assert.deepEqual(verified.scopes, ['mcp', 'erp.read']);
      assert.equal(verified.cnfJkt, undefined);
      assert.equal(verified.claims.aud, idp.audience);
      const exp = verified.claims.exp as number;
      assert.equal(verified.expiresAt, exp * 1000);
      assert.ok(verified.expiresAt > Date.now());
    }
  });

  test('scopes from `scp` arrays, client id from `azp`, DPoP binding from cnf.jkt', async () => {
    const token = await idp.token(rsa, {
      scope: undefined,
      scp: ['mcp', 'admin', 'mcp'],
      client_id: undefined,
      azp: 'desktop-app',
      cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' },
    });
    const verified = await verifier().verify(token);
    assert.deepEqual(verified.scopes, ['mcp', 'admin']);
    assert.equal(verified.clientId, 'desktop-app');
    assert.equal(verified.cnfJkt, '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
    // A confirmation method Airlock cannot enforce is refused rather than ignored.
    const mtlsBound = await idp.token(rsa, { cnf: { 'x5t#S256': 'abc' } });
    await assert.rejects(verifier().verify(mtlsBound), refusedWith('AIRLOCK_TOKEN_INVALID'));
  });

  test('expired tokens are refused; a few seconds of skew within the tolerance are not', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    const expired = await idp.token(rsa, { exp: nowSec - 120 }, {}, { issuedAt: nowSec - 600 });
    await assert.rejects(verifier().verify(expired), refusedWith('AIRLOCK_TOKEN_EXPIRED'));
    const justExpired = await idp.token(rsa, { exp: nowSec - 10 }, {}, { issuedAt: nowSec - 600 });
    assert.equal((await verifier().verify(justExpired)).subject, 'user-42');
    await assert.rejects(
      verifier({ clockToleranceSec: 0 }).verify(justExpired),
      refusedWith('AIRLOCK_TOKEN_EXPIRED'),
    );
  });

  test('not-yet-valid tokens and tokens older than maxTokenAgeSec are refused', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    const future = await idp.token(rsa, { nbf: nowSec + 600 });
    await assert.rejects(verifier().verify(future), (e: unknown) => {
      refusedWith('AIRLOCK_TOKEN_INVALID')(e);
      assert.match((e as Error).message, /not valid yet/);
      return true;
    });
    const old = await idp.token(rsa, {}, {}, { issuedAt: nowSec - 3600, expiresIn: nowSec + 600 });
    assert.equal((await verifier().verify(old)).subject, 'user-42');
    await assert.rejects(verifier({ maxTokenAgeSec: 600 }).verify(old), refusedWith('AIRLOCK_TOKEN_EXPIRED'));
  });
});

describe('JWT bearer verification: audience, issuer and algorithms', () => {
  test('wrong audience and wrong issuer are refused with their own codes', async () => {
    const otherAudience = await idp.token(rsa, { aud: 'https://globex.relay.test/mcp' });
    await assert.rejects(verifier().verify(otherAudience), refusedWith('AIRLOCK_TOKEN_AUDIENCE'));
    const otherIssuer = await idp.token(rsa, { iss: 'https://evil.example' });
    await assert.rejects(verifier().verify(otherIssuer), refusedWith('AIRLOCK_TOKEN_ISSUER'));
    // Audience lists are fine as long as they name this resource.
    const multi = await idp.token(rsa, { aud: ['https://other.example', idp.audience] });
    assert.equal((await verifier().verify(multi)).subject, 'user-42');
  });

  test('alg "none" is refused', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    const payload = { iss: idp.issuer, aud: idp.audience, sub: 'admin', exp: nowSec + 300, scope: 'mcp' };
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64json({ alg, typ: 'JWT' })}.${b64json(payload)}.`;
      await assert.rejects(verifier().verify(unsigned), refusedWith('AIRLOCK_TOKEN_ALG'));
    }
    const noAlg = `${b64json({ typ: 'JWT', kid: 'rsa-1' })}.${b64json(payload)}.c2ln`;
    await assert.rejects(verifier().verify(noAlg), refusedWith('AIRLOCK_TOKEN_ALG'));
  });

  test('HS256 signed with the RSA public key as the secret (key confusion) is refused', async () => {
    const publicPem = await exportSPKI(rsa.publicKey);
    for (const secret of [publicPem, JSON.stringify(rsa.publicJwk)]) {
      const forged = await new SignJWT({ scope: 'mcp admin' })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .setIssuer(idp.issuer)
        .setAudience(idp.audience)
        .setSubject('admin')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      await assert.rejects(verifier().verify(forged), refusedWith('AIRLOCK_TOKEN_ALG'));
    }
    // And a verifier can never be configured to accept a symmetric algorithm (or none).
    for (const alg of ['HS256', 'none']) {
      assert.throws(
        () => verifier({ algorithms: ['RS256', alg] }),
        (e: unknown) => e instanceof IdentityError && e.code === 'AIRLOCK_TOKEN_CONFIG',
      );
    }
  });

  test('an algorithm outside the configured allow-list is refused', async () => {
    const token = await idp.token(keys.ES256 as TestKey);
    await assert.rejects(verifier({ algorithms: ['RS256'] }).verify(token), refusedWith('AIRLOCK_TOKEN_ALG'));
  });
});

describe('JWT bearer verification: keys and input', () => {
  test('unknown kid: the JWKS is fetched again, then the token is refused; a rotated-in key is picked up', async () => {
    const v = verifier({ jwksCooldownMs: 0 });
    assert.equal((await v.verify(await idp.token(rsa))).subject, 'user-42');
    const before = idp.fetches;
    const stranger = await makeKey('RS256', 'rotated-2');
    const token = await idp.token(stranger);
    await assert.rejects(v.verify(token), refusedWith('AIRLOCK_TOKEN_INVALID'));
    assert.equal(idp.fetches, before + 1, 'an unknown kid triggers exactly one refetch');

    // The IdP rotates the key in: the same verifier now accepts it after one more refetch.
    idp.published = [...idp.published, stranger];
    try {
      assert.equal((await v.verify(token)).subject, 'user-42');
      assert.equal(idp.fetches, before + 2);
    } finally {
      idp.published = idp.published.filter((k) => k !== stranger);
    }
  });

  test('a token signed by another key under a published kid fails the signature check', async () => {
    const impostor = await makeKey('RS256', 'rsa-1');
    await assert.rejects(verifier().verify(await idp.token(impostor)), refusedWith('AIRLOCK_TOKEN_INVALID'));
    // Tampering with the payload of a genuine token breaks the signature too.
    const [h, , s] = (await idp.token(rsa)).split('.');
    const nowSec = Math.floor(Date.now() / 1000);
    const tampered = `${h}.${b64json({ iss: idp.issuer, aud: idp.audience, sub: 'admin', exp: nowSec + 60 })}.${s}`;
    await assert.rejects(verifier().verify(tampered), refusedWith('AIRLOCK_TOKEN_INVALID'));
  });

  test('malformed input is refused as invalid', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d.e', '!!!.???.###', 'x'.repeat(20_000)]) {
      await assert.rejects(verifier().verify(bad), refusedWith('AIRLOCK_TOKEN_INVALID'));
    }
  });
});

describe('JWT bearer verification: scopes, typ, claims and the JWKS', () => {
  test('required scopes: missing ones are a 403 insufficient_scope', async () => {
    const token = await idp.token(rsa, { scope: 'mcp' });
    assert.deepEqual((await verifier({ requiredScopes: ['mcp'] }).verify(token)).scopes, ['mcp']);
    await assert.rejects(verifier({ requiredScopes: ['mcp', 'erp.write'] }).verify(token), (e: unknown) => {
      refusedWith('AIRLOCK_TOKEN_SCOPE', 403)(e);
      assert.equal((e as TokenError).oauthError, 'insufficient_scope');
      return true;
    });
    await assert.rejects(
      verifier().verify(token, { requiredScopes: ['erp.write'] }),
      refusedWith('AIRLOCK_TOKEN_SCOPE', 403),
    );
  });

  test('a required typ (at+jwt) is enforced when configured', async () => {
    const plain = await idp.token(rsa, {}, { typ: 'JWT' });
    assert.equal((await verifier().verify(plain)).subject, 'user-42');
    await assert.rejects(verifier({ typ: 'at+jwt' }).verify(plain), refusedWith('AIRLOCK_TOKEN_INVALID'));
    assert.equal((await verifier({ typ: 'at+jwt' }).verify(await idp.token(rsa))).subject, 'user-42');
  });

  test('tokens without exp or sub are refused', async () => {
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setSubject('user-42')
      .sign(rsa.privateKey);
    await assert.rejects(verifier().verify(noExp), refusedWith('AIRLOCK_TOKEN_INVALID'));
    const noSub = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime('5m')
      .sign(rsa.privateKey);
    await assert.rejects(verifier().verify(noSub), refusedWith('AIRLOCK_TOKEN_INVALID'));
  });

  test('an unavailable JWKS fails closed with a retryable 503', async () => {
    const fresh = verifier(); // no keys cached yet
    idp.failWith = 500;
    try {
      await assert.rejects(fresh.verify(await idp.token(rsa)), (e: unknown) => {
        refusedWith('AIRLOCK_TOKEN_UNVERIFIABLE', 503)(e);
        assert.equal((e as TokenError).retryable, true);
        return true;
      });
    } finally {
      idp.failWith = undefined;
    }
    assert.equal((await fresh.verify(await idp.token(rsa))).subject, 'user-42');
  });

  test('a plain-http JWKS off loopback is refused at construction', () => {
    assert.throws(
      () => verifier({ jwksUri: 'http://idp.acme.test/jwks.json' }),
      (e: unknown) => e instanceof IdentityError && e.code === 'AIRLOCK_TOKEN_CONFIG',
    );
  });
});
