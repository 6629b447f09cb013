/**
 * The OAuth set-up of the agent-endpoint tests: the rig's endpoint accepts bearer and DPoP-bound
 * tokens from the loopback IdP (scopes `mcp` required, `erp.read` offered), and a second endpoint with
 * the same OAuth options and end-user tokens answers with what reached its handler (`reflectingHandler`).
 *
 * @example
 * const { rig, probeUrl, bot } = await startOAuthRig();
 */
import type { AgentCredentials } from '../fixtures/tenant-tls-kit.js';
import { type AgentEndpointRig, reflectingHandler, startAgentEndpointRig } from './agent-endpoint-rig.js';
import type { IdpKit } from './agent-token-kit.js';
import { RESOURCE } from './agent-token-kit.js';

/** The endpoint's OAuth options for `ids`. */
export function oauthOptions(ids: IdpKit) {
  return {
    verifier: ids.verifier,
    resource: RESOURCE,
    authorizationServers: [ids.idp.issuer],
    scopesSupported: ['mcp', 'erp.read'],
    requiredScopes: ['mcp'],
    dpop: { verifier: ids.dpop },
  };
}

/** The rig, the reflecting endpoint's URL and the certificate of the mTLS agent `claims-bot`. */
export async function startOAuthRig(): Promise<{
  rig: AgentEndpointRig;
  probeUrl: URL;
  bot: AgentCredentials;
}> {
  const rig = await startAgentEndpointRig({ endpoint: ({ ids }) => ({ oauth: oauthOptions(ids) }) });
  const bot = await rig.kit.issueAgent('claims-bot');
  const probeUrl = await rig.startEndpoint({
    oauth: oauthOptions(rig.ids),
    endUser: { verifier: rig.ids.verifier },
    handler: reflectingHandler,
  });
  return { rig, probeUrl, bot };
}
