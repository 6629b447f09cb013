/**
 * Builds the agent-authentication options of the connector's TLS endpoint from its config: OAuth
 * bearer tokens (with optional DPoP) next to client certificates, and the optional end-user token.
 *
 * @example
 * const auth = agentAuthFromConfig(ctx.config, 'acme.relay.example.com');
 * new AgentEndpoint({ tls, handler, identities, ...auth });
 */
import { ConfigError } from '../errors/airlock-error.js';
import { MemoryReplayCache } from '../identity/dpop-replay-cache.js';
import { createDpopVerifier } from '../identity/dpop-verifier.js';
import { createJwtVerifier, type JwtVerifier } from '../identity/jwt-verifier.js';
import type { AgentOAuthOptions } from './agent-bearer-auth.js';
import type { AgentEndUserOptions } from './agent-end-user.js';
import type { ConnectorConfig } from './config-schema.js';

export interface AgentAuthOptions {
  oauth?: AgentOAuthOptions;
  endUser?: AgentEndUserOptions;
}

export function agentAuthFromConfig(config: ConnectorConfig, tenantHost: string): AgentAuthOptions {
  const out: AgentAuthOptions = {};
  const oauth = config.agents.oauth;
  let agentVerifier: JwtVerifier | undefined;
  if (oauth) {
    const resource = oauth.resource ?? `https://${tenantHost}/mcp`;
    agentVerifier = createJwtVerifier({
      issuer: oauth.issuer,
      audience: resource,
      jwksUri: oauth.jwksUri,
      ...(oauth.algorithms ? { algorithms: oauth.algorithms } : {}),
    });
    out.oauth = {
      verifier: agentVerifier,
      resource,
      authorizationServers: oauth.authorizationServers ?? [oauth.issuer],
      identityName: oauth.identityName,
      ...(oauth.scopesSupported ? { scopesSupported: oauth.scopesSupported } : {}),
      ...(oauth.requiredScopes ? { requiredScopes: oauth.requiredScopes } : {}),
      ...(oauth.dpop
        ? {
            dpop: {
              verifier: createDpopVerifier({
                replayCache: new MemoryReplayCache(),
                maxAgeSec: oauth.dpop.maxAgeSec,
              }),
              required: oauth.dpop.required,
            },
          }
        : {}),
    };
  }
  const endUser = config.agents.endUser;
  if (endUser) {
    const verifier =
      endUser.issuer && endUser.jwksUri
        ? createJwtVerifier({
            issuer: endUser.issuer,
            audience: endUser.audience ?? `https://${tenantHost}/mcp`,
            jwksUri: endUser.jwksUri,
          })
        : agentVerifier;
    if (!verifier) {
      throw new ConfigError('agents.endUser needs agents.oauth, or its own issuer and jwksUri');
    }
    out.endUser = {
      verifier,
      required: endUser.required,
      ...(endUser.header ? { header: endUser.header } : {}),
    };
  }
  return out;
}
