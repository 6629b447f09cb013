/**
 * OAuth 2.1 bearer tokens at the connector's TLS termination (MCP authorization, resource-server side):
 * a request that presents no client certificate may authenticate with `Authorization: Bearer <jwt>` or
 * `Authorization: DPoP <jwt>` plus a `DPoP: <proof>` header. The token is verified on every request
 * (signature against the IdP's JWKS, issuer, audience = this connector's resource URL, expiry,
 * algorithm, required scopes), a DPoP-bound token (`cnf.jkt`, or every token when DPoP is required)
 * must come with a fresh, unreplayed proof for this very request, and the subject must not be revoked
 * in the store. Refusals carry the RFC 6750 / RFC 9449 `WWW-Authenticate` challenge with
 * `resource_metadata` (RFC 9728) and `scope`: 401 for a missing or bad token, 403
 * `insufficient_scope`, 503 when the IdP's keys cannot be fetched.
 *
 * Built on `JwtVerifier`, `DpopVerifier` and `protected-resource.ts` (src/identity/).
 *
 * @example
 * const bearer = new AgentBearerAuth({
 *   verifier: createJwtVerifier({ issuer, audience: 'https://acme.relay.example/mcp', jwksUri }),
 *   resource: 'https://acme.relay.example/mcp',
 *   authorizationServers: [issuer],
 *   requiredScopes: ['mcp'],
 * }, store.identities);
 * const result = await bearer.authenticate(req);
 */
import type { IncomingMessage } from 'node:http';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/server';
import { IdentityError } from '../errors/airlock-error.js';
import type { GatewayIdentity } from '../gateway/gateway-context.js';
import type { IdentityLookup } from '../gateway/stages/authenticate-stage.js';
import type { DpopVerifier } from '../identity/dpop-verifier.js';
import { type OAuthChallengeError, TOKEN_ERROR_CODES, TokenError } from '../identity/jwt-token-error.js';
import type { JwtVerifier, VerifiedToken } from '../identity/jwt-verifier.js';
import {
  buildProtectedResourceMetadata,
  protectedResourceMetadataUrl,
  wwwAuthenticate,
} from '../identity/protected-resource.js';

/** Path of the RFC 9728 metadata document at the origin's root (also served path-suffixed). */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';
/** Seconds an agent should wait before retrying after a 503 (IdP keys unavailable). */
export const DEFAULT_BEARER_RETRY_AFTER_SEC = 5;

/** OAuth options of `AgentEndpoint` (`oauth`). */
export interface AgentOAuthOptions {
  /** Verifies access tokens; its `audience` must equal `resource`. */
  verifier: JwtVerifier;
  /** This connector's resource identifier (public URL of the MCP endpoint), e.g. `https://acme.relay.example/mcp`. */
  resource: string;
  /** Issuer identifiers of the authorization servers (published in the metadata document). */
  authorizationServers: string[];
  /** Published in the metadata document (`scopes_supported`) and, without `requiredScopes`, in challenges. */
  scopesSupported?: string[];
  /** Scopes every token must carry (checked per request); a token without them gets 403 `insufficient_scope`. */
  requiredScopes?: string[];
  /** DPoP (RFC 9449). Tokens with `cnf.jkt` always need a proof; with `required`, every token does. */
  dpop?: { verifier: DpopVerifier; required?: boolean };
  /** What becomes `GatewayIdentity.name`: the token's `sub` (default) or its `client_id` (falls back to `sub`). */
  identityName?: 'subject' | 'clientId';
  /** `resource_name` in the metadata document. */
  resourceName?: string;
  /** Allow `http:` resource / authorization-server URLs off loopback (never in production). */
  dangerouslyAllowInsecureUrls?: boolean;
}

/** An HTTP refusal: status, headers (incl. `WWW-Authenticate`) and the stable code and message. */
export interface BearerRefusal {
  status: 401 | 403 | 503;
  headers: Record<string, string | string[]>;
  airlock: string;
  message: string;
}

export type BearerResult = { ok: true; identity: GatewayIdentity } | { ok: false; refusal: BearerRefusal };

const AUTHORIZATION = /^(Bearer|DPoP)[ ]+([A-Za-z0-9\-._~+/]+=*)$/i;

/** Verifies the bearer / DPoP credentials of agent requests and answers with the right challenge. */
export class AgentBearerAuth {
  /** The RFC 9728 document served at `metadataPaths`. */
  readonly metadata: OAuthProtectedResourceMetadata;
  /** Absolute URL of the metadata document (the `resource_metadata` of every challenge). */
  readonly metadataUrl: string;
  /** Request paths that serve `metadata`: the root form and the path-suffixed form. */
  readonly metadataPaths: ReadonlySet<string>;
  readonly #options: AgentOAuthOptions;
  readonly #identities: IdentityLookup;
  readonly #challengeScope: string[];

  /** Throws `IdentityError` `AIRLOCK_TOKEN_CONFIG` when the verifier's audience is not `resource`. */
  constructor(options: AgentOAuthOptions, identities: IdentityLookup) {
    if (options.verifier.audience !== options.resource) {
      throw new IdentityError(
        'AIRLOCK_TOKEN_CONFIG',
        `oauth: the token verifier's audience (${options.verifier.audience}) must equal the resource (${options.resource})`,
      );
    }
    this.#options = options;
    this.#identities = identities;
    this.#challengeScope = options.requiredScopes ?? options.scopesSupported ?? [];
    const dpop = options.dpop;
    this.metadata = buildProtectedResourceMetadata({
      resource: options.resource,
      authorizationServers: options.authorizationServers,
      ...(options.scopesSupported ? { scopesSupported: options.scopesSupported } : {}),
      ...(dpop
        ? {
            dpopSigningAlgValuesSupported: dpop.verifier.algorithms,
            dpopBoundAccessTokensRequired: dpop.required ?? false,
          }
        : {}),
      tlsClientCertificateBoundAccessTokens: false,
      ...(options.resourceName ? { resourceName: options.resourceName } : {}),
      ...(options.dangerouslyAllowInsecureUrls ? { dangerouslyAllowInsecureUrls: true } : {}),
    });
    this.metadataUrl = protectedResourceMetadataUrl(options.resource);
    const suffixed = new URL(this.metadataUrl).pathname;
    this.metadataPaths = new Set([PROTECTED_RESOURCE_METADATA_PATH, suffixed]);
  }

  /**
   * Authenticates one request from its `Authorization` (and `DPoP`) header. `requestUrl` is the URL the
   * agent addressed (for the proof's `htu`), e.g. `https://acme.relay.example/mcp`.
   */
  async authenticate(req: IncomingMessage, requestUrl: string): Promise<BearerResult> {
    const header = req.headers.authorization;
    if (header === undefined || header === '') {
      return this.#refuse(401, 'AIRLOCK_TOKEN_MISSING', {
        message:
          'An access token (Authorization: Bearer <token>) or a client certificate issued by the tenant CA is required',
      });
    }
    const match = AUTHORIZATION.exec(header);
    if (!match?.[1] || !match[2]) {
      return this.#refuse(401, TOKEN_ERROR_CODES.invalid, {
        error: 'invalid_token',
        message: 'The Authorization header must be "Bearer <token>" or "DPoP <token>"',
      });
    }
    const scheme = match[1].toLowerCase() === 'dpop' ? 'dpop' : 'bearer';
    const token = match[2];
    const dpop = this.#options.dpop;
    try {
      if (scheme === 'dpop' && !dpop) {
        throw new TokenError(TOKEN_ERROR_CODES.invalid, 'DPoP-bound access tokens are not accepted here');
      }
      const verified = await this.#options.verifier.verify(token, {
        requiredScopes: this.#options.requiredScopes ?? [],
      });
      let dpopJkt: string | undefined;
      if (verified.cnfJkt !== undefined || dpop?.required || scheme === 'dpop') {
        if (!dpop) {
          throw new TokenError(TOKEN_ERROR_CODES.invalid, 'DPoP-bound access tokens are not accepted here');
        }
        if (scheme !== 'dpop') {
          throw new TokenError(
            verified.cnfJkt === undefined ? TOKEN_ERROR_CODES.dpopBinding : TOKEN_ERROR_CODES.dpopInvalid,
            verified.cnfJkt === undefined
              ? 'this resource requires DPoP-bound access tokens'
              : 'a DPoP-bound access token must be presented as "Authorization: DPoP <token>" with a DPoP proof',
          );
        }
        const proof = req.headers.dpop;
        const proved = await dpop.verifier.verify({
          proof: typeof proof === 'string' ? proof : undefined,
          method: req.method ?? 'GET',
          url: requestUrl,
          accessToken: token,
          expectedJkt: verified.cnfJkt,
        });
        dpopJkt = proved.jkt;
      }
      const revoked = await this.#isRevoked(verified);
      if (revoked === 'unverifiable') {
        return this.#refuse(503, 'AIRLOCK_IDENTITY_UNVERIFIABLE', {
          message: 'The identity could not be verified right now',
        });
      }
      if (revoked) {
        return this.#refuse(401, 'AIRLOCK_IDENTITY_REVOKED', {
          error: 'invalid_token',
          scheme,
          message: `Identity '${this.#nameOf(verified)}' has been revoked`,
        });
      }
      return { ok: true, identity: this.#identityOf(verified, dpopJkt) };
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      return this.#refuse(err.httpStatus, err.code, {
        error: err.oauthError,
        scheme: err.code.startsWith('AIRLOCK_DPOP_') ? 'dpop' : scheme,
        message: err.message,
      });
    }
  }

  async #isRevoked(token: VerifiedToken): Promise<boolean | 'unverifiable'> {
    if (!this.#identities.isSubjectRevoked) return false;
    try {
      return await this.#identities.isSubjectRevoked(token.issuer, token.subject);
    } catch {
      return 'unverifiable';
    }
  }

  #nameOf(token: VerifiedToken): string {
    return this.#options.identityName === 'clientId' ? (token.clientId ?? token.subject) : token.subject;
  }

  #identityOf(token: VerifiedToken, dpopJkt: string | undefined): GatewayIdentity {
    const identity: GatewayIdentity = {
      name: this.#nameOf(token),
      spiffeId: '',
      certSerial: '',
      authenticatedBy: 'bearer',
      subject: token.subject,
      issuer: token.issuer,
      scopes: token.scopes,
      expiresAt: token.expiresAt,
    };
    if (token.clientId !== undefined) identity.clientId = token.clientId;
    if (dpopJkt !== undefined) identity.dpopJkt = dpopJkt;
    return identity;
  }

  #refuse(
    status: 401 | 403 | 503,
    airlock: string,
    o: { message: string; error?: OAuthChallengeError; scheme?: 'bearer' | 'dpop' },
  ): { ok: false; refusal: BearerRefusal } {
    return { ok: false, refusal: this.refusal(status, airlock, o) };
  }

  /**
   * The HTTP refusal for `status`: 401/403 with one challenge per accepted scheme (`Bearer`, and `DPoP`
   * when enabled; only `DPoP` when required), the OAuth `error` on the scheme the agent used; 503 with
   * `Retry-After`.
   */
  refusal(
    status: 401 | 403 | 503,
    airlock: string,
    o: { message: string; error?: OAuthChallengeError; scheme?: 'bearer' | 'dpop' },
  ): BearerRefusal {
    if (status === 503) {
      return {
        status,
        airlock,
        message: o.message,
        headers: { 'retry-after': String(DEFAULT_BEARER_RETRY_AFTER_SEC) },
      };
    }
    const dpop = this.#options.dpop;
    const schemes: ('bearer' | 'dpop')[] = dpop?.required ? ['dpop'] : dpop ? ['bearer', 'dpop'] : ['bearer'];
    const errorOn = o.scheme && schemes.includes(o.scheme) ? o.scheme : schemes[0];
    const scope =
      o.error === 'insufficient_scope' ? (this.#options.requiredScopes ?? []) : this.#challengeScope;
    const challenges = schemes.map((which) =>
      wwwAuthenticate({
        resourceMetadataUrl: this.metadataUrl,
        scope,
        ...(o.error && which === errorOn ? { error: o.error, errorDescription: o.message } : {}),
        ...(which === 'dpop' ? { dpop: true, dpopAlgs: dpop?.verifier.algorithms ?? [] } : {}),
      }),
    );
    return { status, airlock, message: o.message, headers: { 'www-authenticate': challenges } };
  }
}
