/**
 * DPoP-bound OAuth tokens (RFC 9449) at the connector's agent endpoint, end to end (the set-up of
 * agent-oauth.test.ts): a bound token works with a fresh proof per request; replayed, missing,
 * foreign-key and wrong-URL proofs and the Bearer scheme are refused; `dpop.required` refuses unbound
 * tokens; a verifier whose audience is not the resource is a configuration error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { createJwtVerifier } from '../../src/identity/jwt-verifier.js';
import { TENANT_HOST, type TenantKit, type TestFetch } from '../fixtures/tenant-tls-kit.js';
import { type AgentEndpointRig, rawRpc, resultText } from './agent-endpoint-rig.js';
import { dpopFetch, dpopProof, type IdpKit, METADATA_URL, makeKey, RESOURCE } from './agent-token-kit.js';
import { startOAuthRig } from './oauth-rig.js';

let rig: AgentEndpointRig;
let kit: TenantKit;
let ids: IdpKit;
let url: URL;
let probeUrl: URL;

const anonymousFetch = (): TestFetch => rig.anonymousFetch();
const connect = (fetch: TestFetch, mode: 'auto' | 'legacy' = 'auto') => rig.connectClient(fetch, mode);
const rawPost = (fetch: TestFetch, headers: Record<string, string> = {}, target: URL = url) =>
  rawRpc(fetch, target, headers);
const text = resultText;

before(async () => {
  ({ rig, probeUrl } = await startOAuthRig());
  ({ kit, ids, url } = rig);
});

after(() => rig.close());

describe('DPoP-bound tokens (RFC 9449): proofs per request', () => {
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
});

describe('DPoP-bound tokens (RFC 9449): endpoint configuration', () => {
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
