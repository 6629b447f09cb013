/**
 * RFC 9728 metadata, WWW-Authenticate challenges, and the bridge to the MCP SDK's bearer helpers,
 * with real tokens from a loopback JWKS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/core';
import { requireBearerAuth } from '@modelcontextprotocol/server';
import { IdentityError } from '../../src/errors/airlock-error.js';
import { TokenError } from '../../src/identity/jwt-token-error.js';
import { createJwtVerifier } from '../../src/identity/jwt-verifier.js';
import {
  buildProtectedResourceMetadata,
  protectedResourceMetadataUrl,
  tokenChallenge,
  toOAuthTokenVerifier,
  wwwAuthenticate,
} from '../../src/identity/protected-resource.js';
import { makeKey, TestIdp, type TestKey } from './jwt-test-idp.js';

const RESOURCE = 'https://acme.relay.test/mcp';
const METADATA_URL = 'https://acme.relay.test/.well-known/oauth-protected-resource/mcp';

describe('protected-resource metadata and challenges: metadata', () => {
  test('metadata document: RFC 9728 fields, validated by the SDK schema', () => {
    const doc = buildProtectedResourceMetadata({
      resource: RESOURCE,
      authorizationServers: ['https://idp.acme.test', 'https://backup-idp.acme.test/tenant/1'],
      scopesSupported: ['mcp', 'erp.read'],
      dpopSigningAlgValuesSupported: ['ES256', 'EdDSA'],
      dpopBoundAccessTokensRequired: false,
      resourceName: 'Acme tools',
    });
    assert.deepEqual(doc, {
      resource: RESOURCE,
      authorization_servers: ['https://idp.acme.test', 'https://backup-idp.acme.test/tenant/1'],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp', 'erp.read'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: false,
      resource_name: 'Acme tools',
    });
    assert.equal(OAuthProtectedResourceMetadataSchema.safeParse(doc).success, true);
    assert.equal(protectedResourceMetadataUrl(RESOURCE), METADATA_URL);
    assert.equal(
      protectedResourceMetadataUrl('https://acme.relay.test'),
      'https://acme.relay.test/.well-known/oauth-protected-resource',
    );
  });

  test('metadata refuses insecure or malformed URLs', () => {
    const bad = [
      { resource: 'http://acme.relay.test/mcp', authorizationServers: ['https://idp.acme.test'] },
      { resource: `${RESOURCE}#frag`, authorizationServers: ['https://idp.acme.test'] },
      { resource: RESOURCE, authorizationServers: [] },
      { resource: RESOURCE, authorizationServers: ['http://idp.acme.test'] },
      { resource: RESOURCE, authorizationServers: ['https://idp.acme.test?x=1'] },
      { resource: 'not a url', authorizationServers: ['https://idp.acme.test'] },
    ];
    for (const options of bad) {
      assert.throws(
        () => buildProtectedResourceMetadata(options),
        (e: unknown) => e instanceof IdentityError && e.code === 'AIRLOCK_RESOURCE_METADATA_INVALID',
        JSON.stringify(options),
      );
    }
    // Loopback may use http (local development and tests).
    assert.equal(
      buildProtectedResourceMetadata({
        resource: 'http://127.0.0.1:8443/mcp',
        authorizationServers: ['http://localhost:9000'],
      }).resource,
      'http://127.0.0.1:8443/mcp',
    );
  });
});

describe('protected-resource metadata and challenges: challenges', () => {
  test('WWW-Authenticate: Bearer and DPoP challenges, quote-escaped', () => {
    assert.equal(
      wwwAuthenticate({ resourceMetadataUrl: METADATA_URL }),
      `Bearer resource_metadata="${METADATA_URL}"`,
    );
    assert.equal(
      wwwAuthenticate({
        error: 'insufficient_scope',
        errorDescription: 'needs erp.write',
        scope: ['mcp', 'erp.write'],
        resourceMetadataUrl: METADATA_URL,
      }),
      `Bearer error="insufficient_scope", error_description="needs erp.write", scope="mcp erp.write", resource_metadata="${METADATA_URL}"`,
    );
    assert.equal(
      wwwAuthenticate({
        error: 'invalid_dpop_proof',
        errorDescription: 'stale',
        resourceMetadataUrl: METADATA_URL,
        dpop: true,
        dpopAlgs: ['ES256', 'EdDSA'],
      }),
      `DPoP error="invalid_dpop_proof", error_description="stale", resource_metadata="${METADATA_URL}", algs="ES256 EdDSA"`,
    );
    // A hostile description cannot close the quoted string or inject a header line.
    const header = wwwAuthenticate({
      error: 'invalid_token',
      errorDescription: 'bad "token"\\ here\r\nSet-Cookie: x=1',
      resourceMetadataUrl: METADATA_URL,
    });
    assert.equal(
      header,
      `Bearer error="invalid_token", error_description="bad \\"token\\"\\\\ here  Set-Cookie: x=1", resource_metadata="${METADATA_URL}"`,
    );
    assert.doesNotMatch(header, /[\r\n]/);
  });

  test('tokenChallenge maps TokenErrors to 401/403/503 answers and hides other failures', () => {
    const expired = tokenChallenge(new TokenError('AIRLOCK_TOKEN_EXPIRED', 'access token has expired'), {
      resourceMetadataUrl: METADATA_URL,
    });
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, { error: 'invalid_token', error_description: 'access token has expired' });
    assert.equal(
      expired.headers['WWW-Authenticate'],
      `Bearer error="invalid_token", error_description="access token has expired", resource_metadata="${METADATA_URL}"`,
    );
    const scope = tokenChallenge(new TokenError('AIRLOCK_TOKEN_SCOPE', 'lacks erp.write'), {
      resourceMetadataUrl: METADATA_URL,
      scope: 'erp.write',
    });
    assert.equal(scope.status, 403);
    assert.match(
      scope.headers['WWW-Authenticate'] ?? '',
      /^Bearer error="insufficient_scope".*scope="erp.write"/,
    );
    const replay = tokenChallenge(new TokenError('AIRLOCK_DPOP_REPLAY', 'replayed'), {
      resourceMetadataUrl: METADATA_URL,
      dpop: true,
    });
    assert.match(replay.headers['WWW-Authenticate'] ?? '', /^DPoP error="invalid_dpop_proof"/);
    const internal = tokenChallenge(new Error('database password is hunter2'), {
      resourceMetadataUrl: METADATA_URL,
    });
    assert.equal(internal.status, 503);
    assert.equal(internal.headers['Retry-After'], '5');
    assert.equal(internal.headers['WWW-Authenticate'], undefined);
    assert.doesNotMatch(JSON.stringify(internal.body), /hunter2/);
  });
});

describe("the MCP SDK bearer gate with Airlock's JWT verifier", () => {});

describe('protected-resource metadata and challenges: the SDK bearer helpers', () => {});

describe("the MCP SDK bearer gate with Airlock's JWT verifier", () => {
  const idp = new TestIdp();
  let key: TestKey;

  before(async () => {
    key = await makeKey('ES256', 'k1');
    await idp.start([key]);
  });
  after(() => idp.close());

  test('requireBearerAuth accepts a valid token and challenges the others', async () => {
    const jwt = createJwtVerifier({ issuer: idp.issuer, audience: idp.audience, jwksUri: idp.jwksUri });
    const gate = requireBearerAuth({
      verifier: toOAuthTokenVerifier(jwt),
      expectedResource: new URL(idp.audience),
      requiredScopes: ['mcp'],
      resourceMetadataUrl: METADATA_URL,
    });
    const request = (token: string) =>
      new Request(idp.audience, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

    const token = await idp.token(key);
    const ok = await gate(request(token));
    assert.ok(!(ok instanceof Response), 'a valid token yields AuthInfo');
    assert.equal(ok.clientId, 'vendor-agent');
    assert.deepEqual(ok.scopes, ['mcp', 'erp.read']);
    assert.equal(ok.resource?.href, idp.audience);
    assert.deepEqual(ok.extra, { subject: 'user-42', issuer: idp.issuer });

    const wrongAudience = await gate(request(await idp.token(key, { aud: 'https://globex.relay.test/mcp' })));
    assert.ok(wrongAudience instanceof Response);
    assert.equal(wrongAudience.status, 401);
    assert.match(wrongAudience.headers.get('www-authenticate') ?? '', /invalid_token.*resource_metadata=/);

    const noScope = await gate(request(await idp.token(key, { scope: 'erp.read' })));
    assert.ok(noScope instanceof Response);
    assert.equal(noScope.status, 403);

    const bound = await gate(request(await idp.token(key, { cnf: { jkt: 'abc' } })));
    assert.ok(bound instanceof Response, 'a DPoP-bound token is not accepted as a plain bearer token');
    assert.equal(bound.status, 401);
  });
});
