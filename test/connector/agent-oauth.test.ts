/**
 * OAuth bearer tokens at the connector's agent endpoint, end to end: a real JWKS IdP on loopback, tokens
 * signed in the test, a real AgentEndpoint (TLS with the tenant key) in front of the real MCP endpoint
 * and gateway (authenticate stage) and a real stdio upstream, and real SDK clients (v2 both eras, v1)
 * passing the token through `requestInit` headers or a custom fetch. Only valid tokens get through;
 * every refusal carries the RFC 6750/9449 challenge with the RFC 9728 metadata URL. DPoP-bound tokens:
 * agent-oauth-dpop.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SdkHttpError } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { exportSPKI, SignJWT } from 'jose';
import type { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import {
  type AgentCredentials,
  TENANT_HOST,
  type TenantKit,
  type TestFetch,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';
import { b64json } from '../identity/jwt-test-idp.js';
import { type AgentEndpointRig, rawRpc, resultText } from './agent-endpoint-rig.js';
import { type IdpKit, METADATA_URL, makeKey, RESOURCE, withHeaders } from './agent-token-kit.js';
import { startOAuthRig } from './oauth-rig.js';

let rig: AgentEndpointRig;
let kit: TenantKit;
let ids: IdpKit;
let mcp: AgentMcpEndpoint;
let url: URL;
let probeUrl: URL;
let bot: AgentCredentials;

const anonymousFetch = (): TestFetch => rig.anonymousFetch();
const bearer = (token: string): TestFetch => rig.bearer(token);
const connect = (fetch: TestFetch, mode: 'auto' | 'legacy' = 'auto') => rig.connectClient(fetch, mode);
const rawPost = (fetch: TestFetch, headers: Record<string, string> = {}, target: URL = url) =>
  rawRpc(fetch, target, headers);
const text = resultText;

before(async () => {
  ({ rig, probeUrl, bot } = await startOAuthRig());
  ({ kit, ids, mcp, url } = rig);
});

after(() => rig.close());

/** Tokens the endpoint must refuse: [what, token, the `airlock` code of the refusal]. */
async function refusedTokens(): Promise<[string, string, string][]> {
  const nowSec = Math.floor(Date.now() / 1000);
  const rogue = await makeKey('RS256', 'rogue-kid');
  const publicPem = await exportSPKI(ids.rsa.publicKey);
  return [
    ['expired', await ids.token({ exp: nowSec - 120 }), 'AIRLOCK_TOKEN_EXPIRED'],
    ['wrong audience', await ids.token({ aud: 'https://globex.localhost/mcp' }), 'AIRLOCK_TOKEN_AUDIENCE'],
    ['wrong issuer', await ids.token({ iss: 'https://evil.example' }), 'AIRLOCK_TOKEN_ISSUER'],
    [
      'alg none',
      `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json({ iss: ids.idp.issuer, aud: RESOURCE, sub: 'admin', exp: nowSec + 300, scope: 'mcp' })}.`,
      'AIRLOCK_TOKEN_ALG',
    ],
    [
      'HS256 with the RSA public key as secret',
      await new SignJWT({ scope: 'mcp' })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .setIssuer(ids.idp.issuer)
        .setAudience(RESOURCE)
        .setSubject('admin')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(publicPem)),
      'AIRLOCK_TOKEN_ALG',
    ],
    ['unknown kid', await ids.token({}, rogue), 'AIRLOCK_TOKEN_INVALID'],
  ];
}

describe('protected-resource metadata (RFC 9728)', () => {
  it('is served without credentials at the root and the path-suffixed well-known URL', async () => {
    const fetch = anonymousFetch();
    const base = `https://${TENANT_HOST}:${url.port}`;
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await res.json(), {
        resource: RESOURCE,
        authorization_servers: [ids.idp.issuer],
        bearer_methods_supported: ['header'],
        scopes_supported: ['mcp', 'erp.read'],
        dpop_signing_alg_values_supported: [...ids.dpop.algorithms],
        dpop_bound_access_tokens_required: false,
        tls_client_certificate_bound_access_tokens: false,
      });
    }
    const post = await fetch(`${base}/.well-known/oauth-protected-resource`, { method: 'POST' });
    assert.equal(post.status, 405);
  });
});

describe('bearer tokens: accepted', () => {
  it('a valid token is accepted: v2 client in both eras (custom fetch) and v1 client (requestInit)', async () => {
    const token = await ids.token();
    for (const mode of ['auto', 'legacy'] as const) {
      const { client } = await connect(bearer(token), mode);
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(tools.includes('fixture.echo'), tools.join(', '));
      const echoed = await client.callTool({ name: 'fixture.echo', arguments: { text: `hi ${mode}` } });
      assert.equal(text(echoed), `hi ${mode}`);
    }
    const v1 = new V1Client({ name: 'v1-oauth', version: '1.0.0' });
    const transport = new V1Transport(url, {
      fetch: anonymousFetch() as never,
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await v1.connect(transport);
    rig.defer(() => v1.close());
    assert.ok(mcp.sessions().some((s) => s.id === transport.sessionId && s.identity === 'user-42'));
    const echoed = await v1.callTool({ name: 'fixture.echo', arguments: { text: 'v1' } });
    assert.equal(text(echoed as { content?: unknown }), 'v1');
  });

  it('the handler sees a bearer identity, the end user, and none of the agent credential headers', async () => {
    const token = await ids.token({ sub: 'svc-agent', client_id: 'vendor-agent' }, ids.es);
    const userToken = await ids.token({ sub: 'alice', scope: 'openid' });
    const res = await bearer(token)(probeUrl, { headers: { 'x-airlock-end-user': userToken } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      identity: Record<string, unknown>;
      endUser: Record<string, unknown>;
      token: string;
      headers: Record<string, string>;
      rawHeaders: string[];
    };
    const { expiresAt, ...identity } = body.identity;
    assert.deepEqual(identity, {
      name: 'svc-agent',
      spiffeId: '',
      certSerial: '',
      authenticatedBy: 'bearer',
      subject: 'svc-agent',
      clientId: 'vendor-agent',
      issuer: ids.idp.issuer,
      scopes: ['mcp', 'erp.read'],
    });
    assert.ok(typeof expiresAt === 'number' && expiresAt > Date.now());
    assert.equal(body.endUser.subject, 'alice');
    assert.equal(body.endUser.issuer, ids.idp.issuer);
    assert.equal(body.token, '', 'AuthInfo never carries the token');
    for (const name of ['authorization', 'dpop', 'x-airlock-end-user']) {
      assert.equal(body.headers[name], undefined, `${name} removed`);
      assert.ok(!body.rawHeaders.some((h) => h.toLowerCase() === name), `${name} removed from rawHeaders`);
    }
    assert.doesNotMatch(JSON.stringify(body.headers), new RegExp(token.slice(-20)));

    const badUser = await bearer(token)(probeUrl, {
      headers: {
        'x-airlock-end-user': await ids.token({ sub: 'mallory', aud: 'https://other.example/mcp' }),
      },
    });
    assert.equal(badUser.status, 401);
    assert.equal(
      ((await badUser.json()) as { error: { data: { airlock: string } } }).error.data.airlock,
      'AIRLOCK_END_USER_INVALID',
    );
  });
});

describe('bearer tokens: refused', () => {
  it('expired, wrong audience, wrong issuer, alg none, HS/RS confusion and unknown kid are refused with 401 + challenge', async () => {
    const cases = await refusedTokens();
    for (const [what, token, code] of cases) {
      const r = await rawPost(anonymousFetch(), { authorization: `Bearer ${token}` });
      assert.equal(r.status, 401, `${what}: ${r.text}`);
      assert.equal(r.airlock, code, what);
      assert.match(r.challenge, /^Bearer error="invalid_token", error_description="[^"]+"/, what);
      assert.ok(r.challenge.includes(`resource_metadata="${METADATA_URL}"`), `${what}: ${r.challenge}`);
      assert.ok(r.challenge.includes('scope="mcp"'), what);
      assert.match(r.challenge, /DPoP scope="mcp", resource_metadata="[^"]+", algs="ES256/, what);
    }
    // The SDK client surfaces the 401 too.
    await assert.rejects(connect(bearer(cases[0]?.[1] ?? '')), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(
        `${err.message} ${err instanceof SdkHttpError ? err.status : ''}`,
        /401|expired|Unauthorized/i,
      );
      return true;
    });
  });

  it('no credentials at all: 401 with a challenge without error; a malformed header is invalid_token', async () => {
    const none = await rawPost(anonymousFetch());
    assert.equal(none.status, 401);
    assert.equal(none.airlock, 'AIRLOCK_TOKEN_MISSING');
    assert.equal(
      none.challenge,
      `Bearer scope="mcp", resource_metadata="${METADATA_URL}", DPoP scope="mcp", resource_metadata="${METADATA_URL}", algs="${ids.dpop.algorithms.join(' ')}"`,
    );
    const basic = await rawPost(anonymousFetch(), { authorization: 'Basic dXNlcjpwYXNz' });
    assert.equal(basic.status, 401);
    assert.equal(basic.airlock, 'AIRLOCK_TOKEN_INVALID');
    assert.match(basic.challenge, /^Bearer error="invalid_token"/);
  });

  it('insufficient scope → 403 insufficient_scope naming the required scope', async () => {
    const token = await ids.token({ scope: 'erp.read' });
    const r = await rawPost(anonymousFetch(), { authorization: `Bearer ${token}` });
    assert.equal(r.status, 403);
    assert.equal(r.airlock, 'AIRLOCK_TOKEN_SCOPE');
    assert.match(
      r.challenge,
      /^Bearer error="insufficient_scope", error_description="[^"]*mcp[^"]*", scope="mcp"/,
    );
    assert.ok(r.challenge.includes(`resource_metadata="${METADATA_URL}"`));
  });
});

describe('bearer tokens: revocation, and mTLS next to OAuth', () => {
  it('a revoked subject is refused at the edge and by the gateway', async () => {
    const token = await ids.token({ sub: 'fired-bot' });
    const { client } = await connect(bearer(token), 'legacy');
    assert.equal(text(await client.callTool({ name: 'fixture.echo', arguments: { text: 'ok' } })), 'ok');
    assert.equal(await kit.store.identities.revokeSubject(ids.idp.issuer, 'fired-bot', Date.now()), true);
    await assert.rejects(client.callTool({ name: 'fixture.echo', arguments: { text: 'again' } }));
    const r = await rawPost(anonymousFetch(), { authorization: `Bearer ${token}` });
    assert.equal(r.status, 401);
    assert.equal(r.airlock, 'AIRLOCK_IDENTITY_REVOKED');
    assert.match(r.challenge, /error="invalid_token"/);
  });

  it('mTLS keeps working unchanged next to OAuth (a certificate decides even when a token is sent)', async () => {
    const f = tlsFetch({ caPem: kit.ca.certPem, client: bot });
    rig.defer(f.close);
    const { client, transport } = await connect(f.fetch, 'legacy');
    assert.ok(mcp.sessions().some((s) => s.id === transport.sessionId && s.identity === 'claims-bot'));
    assert.equal(text(await client.callTool({ name: 'fixture.echo', arguments: { text: 'mtls' } })), 'mtls');
    const expired = await ids.token({ exp: Math.floor(Date.now() / 1000) - 120 });
    const res = await withHeaders(f.fetch, () => ({ authorization: `Bearer ${expired}` }))(probeUrl);
    const body = (await res.json()) as { identity: { name: string; authenticatedBy: string } };
    assert.equal(body.identity.authenticatedBy, 'mtls');
    assert.equal(body.identity.name, 'claims-bot');
  });
});
