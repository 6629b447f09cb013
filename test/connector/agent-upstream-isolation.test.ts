/**
 * An agent's credentials never reach an upstream: agents authenticate with a bearer token, a DPoP-bound
 * token with proofs, and an end-user token, through the real AgentEndpoint, MCP endpoint and gateway,
 * to a real HTTP upstream that records the headers of every request it receives. None of those headers
 * (nor any header value) carries the agent's token, the proof or the end-user token; the upstream's own
 * static header does arrive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import type { TestFetch } from '../fixtures/tenant-tls-kit.js';
import { type RecordingUpstream, startRecordingUpstream } from '../identity/upstream-token-recorder.js';
import { type AgentEndpointRig, startAgentEndpointRig } from './agent-endpoint-rig.js';
import { dpopFetch, type IdpKit, makeKey, RESOURCE, withHeaders } from './agent-token-kit.js';

let rig: AgentEndpointRig;
let ids: IdpKit;
let upstream: RecordingUpstream;

const anonymousFetch = (): TestFetch => rig.anonymousFetch();

before(async () => {
  rig = await startAgentEndpointRig({
    upstreams: async ({ defer }) => {
      upstream = await startRecordingUpstream();
      defer(() => upstream.close());
      return [
        { name: 'recorder', kind: 'http', url: upstream.url, headers: { 'x-upstream-key': 'static-key' } },
      ];
    },
    endpoint: ({ ids }) => ({
      oauth: {
        verifier: ids.verifier,
        resource: RESOURCE,
        authorizationServers: [ids.idp.issuer],
        dpop: { verifier: ids.dpop },
      },
      endUser: { verifier: ids.verifier },
    }),
  });
  ({ ids } = rig);
});

after(() => rig.close());

describe('agent credentials are never forwarded to an upstream', () => {
  it('bearer, DPoP and end-user tokens stay at the TLS termination (both eras)', async () => {
    const agentToken = await ids.token({ sub: 'vendor-agent' });
    const userToken = await ids.token({ sub: 'alice' });
    const agentKey = await makeKey('ES256', 'agent');
    const jkt = await calculateJwkThumbprint(await exportJWK(agentKey.publicKey), 'sha256');
    const boundToken = await ids.token({ sub: 'bound-agent', cnf: { jkt } });
    const proofs: string[] = [];
    const plain = anonymousFetch();
    const recordingDpop: TestFetch = (target, init) => {
      const proof = new Headers(init?.headers).get('dpop');
      if (proof) proofs.push(proof);
      return plain(target, init);
    };
    const agents: TestFetch[] = [
      withHeaders(anonymousFetch(), () => ({
        authorization: `Bearer ${agentToken}`,
        'x-airlock-end-user': userToken,
      })),
      withHeaders(dpopFetch(recordingDpop, agentKey, boundToken), () => ({
        'x-airlock-end-user': userToken,
      })),
    ];
    const before = upstream.requests.length;
    for (const fetch of agents) {
      for (const mode of ['auto', 'legacy'] as const) {
        const { client } = await rig.connectClient(fetch, mode);
        const result = await client.callTool({ name: 'recorder.whoami', arguments: {} });
        assert.deepEqual(result.content, [{ type: 'text', text: 'called whoami' }]);
      }
    }
    assert.ok(proofs.length >= 4, 'the DPoP agent sent proofs');
    const seen = upstream.requests.slice(before);
    assert.ok(
      seen.some((r) => r.method === 'POST'),
      'the upstream was called',
    );
    const secrets = [agentToken, userToken, boundToken, ...proofs];
    for (const { headers } of upstream.requests) {
      assert.equal(headers.authorization, undefined, 'no Authorization header');
      assert.equal(headers.dpop, undefined, 'no DPoP header');
      assert.equal(headers['x-airlock-end-user'], undefined, 'no end-user header');
      assert.equal(headers['x-upstream-key'], 'static-key', "the upstream's own static header arrives");
      const all = JSON.stringify(headers);
      for (const secret of secrets) {
        // Any distinctive part of a credential (its signature) must not appear anywhere.
        assert.ok(!all.includes(secret.slice(secret.lastIndexOf('.') + 1)), 'no credential in any header');
      }
    }
  });
});
