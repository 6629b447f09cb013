/**
 * OAuth bearer tokens at the connector's agent endpoint, end to end: a real JWKS IdP on loopback, tokens
 * signed in the test, a real AgentEndpoint (TLS with the tenant key) in front of the real MCP endpoint
 * and gateway (authenticate stage) and a real stdio upstream, and real SDK clients (v2 both eras, v1)
 * passing the token through `requestInit` headers or a custom fetch. Only valid tokens get through;
 * every refusal carries the RFC 6750/9449 challenge with the RFC 9728 metadata URL.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client, SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { calculateJwkThumbprint, exportJWK, exportSPKI, SignJWT } from 'jose';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { createJwtVerifier } from '../../src/identity/jwt-verifier.js';
import { endUserFromAuthInfo, identityFromAuthInfo } from '../../src/mcp/agent-auth-info.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
  type TestFetch,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';
import { b64json } from '../identity/jwt-test-idp.js';
import {
  dpopFetch,
  dpopProof,
  type IdpKit,
  METADATA_URL,
  makeKey,
  RESOURCE,
  startIdp,
  withHeaders,
} from './agent-token-kit.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;

let kit: TenantKit;
let ids: IdpKit;
let catalog: UpstreamCatalog;
let mcp: AgentMcpEndpoint;
let endpoint: AgentEndpoint;
let probe: AgentEndpoint;
let url: URL;
let probeUrl: URL;
let bot: AgentCredentials;
const closers: (() => Promise<unknown>)[] = [];

function anonymousFetch(): TestFetch {
  const f = tlsFetch({ caPem: kit.ca.certPem });
  closers.push(f.close);
  return f.fetch;
}

function bearer(token: string): TestFetch {
  return withHeaders(anonymousFetch(), () => ({ authorization: `Bearer ${token}` }));
}

async function rawPost(fetch: TestFetch, headers: Record<string, string> = {}, target: URL = url) {
  const response = await fetch(target, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  const text = await response.text();
  const json = text.startsWith('{') ? (JSON.parse(text) as { error?: { data?: { airlock?: string } } }) : {};
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate') ?? '',
    airlock: json.error?.data?.airlock,
    text,
  };
}

async function connect(fetch: TestFetch, mode: 'auto' | 'legacy' = 'auto') {
  const client = new Client({ name: `oauth-${mode}`, version: '1.0.0' }, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(url, { fetch });
  await client.connect(transport);
  closers.push(() => client.close());
  return { client, transport };
}

function text(result: { content?: unknown }): string {
  return ((result.content ?? []) as { text?: string }[]).map((c) => c.text ?? '').join('');
}

before(async () => {
  kit = await createTenantKit();
  ids = await startIdp();
  bot = await kit.issueAgent('claims-bot');
  catalog = UpstreamCatalog.fromConfig([
    { name: 'fixture', kind: 'stdio', command: process.execPath, args: [FIXTURE] },
  ]);
  await catalog.start();
  mcp = new AgentMcpEndpoint({ catalog, stages: [authenticate({ identities: kit.store.identities })] });
  const oauth = {
    verifier: ids.verifier,
    resource: RESOURCE,
    authorizationServers: [ids.idp.issuer],
    scopesSupported: ['mcp', 'erp.read'],
    requiredScopes: ['mcp'],
    dpop: { verifier: ids.dpop },
  };
  const tls = { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem };
  endpoint = new AgentEndpoint({ tls, identities: kit.store.identities, handler: mcp.nodeHandler, oauth });
  url = new URL(`https://${TENANT_HOST}:${(await endpoint.listen(0, '127.0.0.1')).port}/mcp`);
  // A second endpoint whose handler shows what reaches it: identity, end user and the request headers.
  probe = new AgentEndpoint({
    tls,
    identities: kit.store.identities,
    oauth,
    endUser: { verifier: ids.verifier },
    handler: (req, res) => {
      const auth = (req as IncomingMessage & { auth?: AuthInfo }).auth;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          identity: identityFromAuthInfo(auth),
          endUser: endUserFromAuthInfo(auth),
          token: auth?.token,
          headers: req.headers,
          rawHeaders: req.rawHeaders,
        }),
      );
    },
  });
  probeUrl = new URL(`https://${TENANT_HOST}:${(await probe.listen(0, '127.0.0.1')).port}/mcp`);
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await endpoint.close();
  await probe.close();
  await mcp.close();
  await catalog.close();
  await ids.close();
  await kit.close();
});

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

describe('bearer tokens', () => {
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
    closers.push(() => v1.close());
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

  it('expired, wrong audience, wrong issuer, alg none, HS/RS confusion and unknown kid are refused with 401 + challenge', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    const rogue = await makeKey('RS256', 'rogue-kid');
    const publicPem = await exportSPKI(ids.rsa.publicKey);
    const cases: [string, string, string][] = [
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
    closers.push(f.close);
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

describe('DPoP-bound tokens (RFC 9449)', () => {
  it('a bound token works with a fresh proof per request (SDK client through a custom fetch)', async () => {
    const agentKey = await makeKey('ES256', 'agent');
    const jkt = await calculateJwkThumbprint(await exportJWK(agentKey.publicKey), 'sha256');
    const token = await ids.token({ sub: 'dpop-bot', cnf: { jkt } });
    for (const mode of ['auto', 'legacy'] as const) {
      const { client } = await connect(dpopFetch(anonymousFetch(), agentKey, token), mode);
      assert.equal(
        text(await client.callTool({ name: 'fixture.echo', arguments: { text: 'bound' } })),
        'bound',
      );
    }
    const res = await dpopFetch(anonymousFetch(), agentKey, token)(probeUrl);
    const body = (await res.json()) as { identity: { dpopJkt: string } };
    assert.equal(body.identity.dpopJkt, jkt);
  });

  it('a replayed proof, a missing proof, another key and the Bearer scheme are all refused', async () => {
    const agentKey = await makeKey('ES256', 'agent-2');
    const thief = await makeKey('ES256', 'thief');
    const jkt = await calculateJwkThumbprint(await exportJWK(agentKey.publicKey), 'sha256');
    const token = await ids.token({ sub: 'dpop-bot', cnf: { jkt } });
    const fetch = anonymousFetch();
    const proof = await dpopProof(agentKey, 'POST', url.href, token);
    const first = await rawPost(fetch, { authorization: `DPoP ${token}`, dpop: proof });
    assert.equal(first.status, 200, first.text);
    const replay = await rawPost(fetch, { authorization: `DPoP ${token}`, dpop: proof });
    assert.equal(replay.status, 401);
    assert.equal(replay.airlock, 'AIRLOCK_DPOP_REPLAY');
    assert.match(replay.challenge, /DPoP error="invalid_dpop_proof", error_description="[^"]*replay/);
    assert.ok(replay.challenge.startsWith(`Bearer scope="mcp", resource_metadata="${METADATA_URL}"`));

    const noProof = await rawPost(fetch, { authorization: `DPoP ${token}` });
    assert.equal(noProof.status, 401);
    assert.equal(noProof.airlock, 'AIRLOCK_DPOP_INVALID');
    const stolen = await rawPost(fetch, {
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(thief, 'POST', url.href, token),
    });
    assert.equal(stolen.status, 401);
    assert.equal(stolen.airlock, 'AIRLOCK_DPOP_JKT');
    const asBearer = await rawPost(fetch, { authorization: `Bearer ${token}` });
    assert.equal(asBearer.status, 401);
    assert.equal(asBearer.airlock, 'AIRLOCK_DPOP_INVALID');
    const wrongUrl = await rawPost(fetch, {
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(agentKey, 'POST', `https://${TENANT_HOST}:${url.port}/other`, token),
    });
    assert.equal(wrongUrl.status, 401);
    assert.equal(wrongUrl.airlock, 'AIRLOCK_DPOP_HTU');
  });

  it('with dpop.required, an unbound token is refused and only the DPoP challenge is offered', async () => {
    const strict = new AgentEndpoint({
      tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
      identities: kit.store.identities,
      handler: (_req, res) => {
        res.end('ok');
      },
      oauth: {
        verifier: createJwtVerifier({ issuer: ids.idp.issuer, audience: RESOURCE, jwksUri: ids.idp.jwksUri }),
        resource: RESOURCE,
        authorizationServers: [ids.idp.issuer],
        dpop: { verifier: ids.dpop, required: true },
      },
    });
    try {
      const port = (await strict.listen(0, '127.0.0.1')).port;
      const target = new URL(`https://${TENANT_HOST}:${port}/mcp`);
      const r = await rawPost(anonymousFetch(), { authorization: `Bearer ${await ids.token()}` }, target);
      assert.equal(r.status, 401);
      assert.equal(r.airlock, 'AIRLOCK_DPOP_JKT');
      assert.match(r.challenge, /^DPoP error="invalid_token"/);
      assert.doesNotMatch(r.challenge, /Bearer/);
      const meta = await anonymousFetch()(
        `https://${TENANT_HOST}:${port}/.well-known/oauth-protected-resource/mcp`,
      );
      assert.equal(
        ((await meta.json()) as { dpop_bound_access_tokens_required: boolean })
          .dpop_bound_access_tokens_required,
        true,
      );
    } finally {
      await strict.close();
    }
  });

  it('refuses a configuration whose verifier audience is not the resource', () => {
    assert.throws(
      () =>
        new AgentEndpoint({
          tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
          identities: kit.store.identities,
          handler: () => {},
          oauth: {
            verifier: ids.verifier,
            resource: 'https://other.localhost/mcp',
            authorizationServers: [ids.idp.issuer],
          },
        }),
      (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'AIRLOCK_TOKEN_CONFIG',
    );
  });
});
