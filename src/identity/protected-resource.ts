/**
 * The resource-server side of MCP authorization: the RFC 9728 protected-resource metadata document
 * (how an agent discovers which authorization server issues tokens for this connector), the
 * `WWW-Authenticate` challenge of a 401/403 (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1), and a bridge
 * so the MCP SDK's own bearer helpers (`requireBearerAuth`, `verifyBearerToken`) can use Airlock's
 * `JwtVerifier`.
 *
 * Built on the SDK where it fits: the metadata URL comes from `getOAuthProtectedResourceMetadataUrl`,
 * the document is validated with the SDK's `OAuthProtectedResourceMetadataSchema`, and errors map to
 * the SDK's `OAuthError`. The SDK's `buildOAuthProtectedResourceMetadata` only takes a single,
 * full RFC 8414 authorization-server document and emits no `bearer_methods_supported`/DPoP fields,
 * and its challenge formatter is private and Bearer-only, so those two are written here (same quoting).
 *
 * @example
 * const metadata = buildProtectedResourceMetadata({
 *   resource: 'https://acme.relay.example/mcp',
 *   authorizationServers: ['https://idp.acme.com'],
 *   scopesSupported: ['mcp'],
 *   dpopSigningAlgValuesSupported: ['ES256'],
 * });
 * const url = protectedResourceMetadataUrl('https://acme.relay.example/mcp');
 * // → https://acme.relay.example/.well-known/oauth-protected-resource/mcp
 * res.writeHead(401, { 'WWW-Authenticate': wwwAuthenticate({ resourceMetadataUrl: url, scope: ['mcp'] }) });
 */
import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/core';
import {
  type AuthInfo,
  getOAuthProtectedResourceMetadataUrl,
  OAuthError,
  OAuthErrorCode,
  type OAuthProtectedResourceMetadata,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { IdentityError } from '../errors/airlock-error.js';
import { type OAuthChallengeError, TokenError } from './jwt-token-error.js';
import type { JwtVerifier } from './jwt-verifier.js';

/** Only the `Authorization` header carries tokens by default (never query strings or bodies). */
export const DEFAULT_BEARER_METHODS: readonly ('header' | 'body' | 'query')[] = ['header'];

export interface ProtectedResourceMetadataOptions {
  /** This resource's identifier: its public URL, https (or http on loopback), no fragment. */
  resource: string | URL;
  /** Issuer identifiers of the authorization servers that issue tokens for this resource. */
  authorizationServers: readonly string[];
  scopesSupported?: readonly string[];
  /** Default `DEFAULT_BEARER_METHODS` (`['header']`). */
  bearerMethodsSupported?: readonly ('header' | 'body' | 'query')[];
  /** DPoP algorithms accepted, e.g. `createDpopVerifier(...).algorithms`. Omit when DPoP is not supported. */
  dpopSigningAlgValuesSupported?: readonly string[];
  /** True when every token must be DPoP-bound. */
  dpopBoundAccessTokensRequired?: boolean;
  /** True when tokens may be bound to the agent's mTLS certificate (RFC 8705). */
  tlsClientCertificateBoundAccessTokens?: boolean;
  resourceName?: string;
  resourceDocumentation?: string | URL;
  /** Allow `http:` resource / authorization-server URLs off loopback. Never in production. */
  dangerouslyAllowInsecureUrls?: boolean;
}

/**
 * Builds the RFC 9728 metadata document served at `protectedResourceMetadataUrl(resource)`. Throws
 * `IdentityError` `AIRLOCK_RESOURCE_METADATA_INVALID` for a non-https URL, a URL with a fragment or
 * query (authorization servers), or an empty authorization-server list.
 *
 * @example
 * buildProtectedResourceMetadata({ resource: 'https://acme.relay.example/mcp', authorizationServers: ['https://idp.acme.com'] })
 * // { resource: 'https://acme.relay.example/mcp', authorization_servers: ['https://idp.acme.com'], bearer_methods_supported: ['header'] }
 */
export function buildProtectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): OAuthProtectedResourceMetadata {
  const insecure = options.dangerouslyAllowInsecureUrls ?? false;
  const resource = checkedUrl(options.resource, 'resource', insecure, { allowQuery: true });
  if (options.authorizationServers.length === 0) {
    throw metadataError('at least one authorization server is required');
  }
  const servers = options.authorizationServers.map((issuer) =>
    checkedUrl(issuer, 'authorization server', insecure, { allowQuery: false }),
  );
  const doc: OAuthProtectedResourceMetadata = {
    resource,
    authorization_servers: servers,
    bearer_methods_supported: [...(options.bearerMethodsSupported ?? DEFAULT_BEARER_METHODS)],
  };
  if (options.scopesSupported) doc.scopes_supported = [...options.scopesSupported];
  if (options.dpopSigningAlgValuesSupported) {
    doc.dpop_signing_alg_values_supported = [...options.dpopSigningAlgValuesSupported];
  }
  if (options.dpopBoundAccessTokensRequired !== undefined) {
    doc.dpop_bound_access_tokens_required = options.dpopBoundAccessTokensRequired;
  }
  if (options.tlsClientCertificateBoundAccessTokens !== undefined) {
    doc.tls_client_certificate_bound_access_tokens = options.tlsClientCertificateBoundAccessTokens;
  }
  if (options.resourceName !== undefined) doc.resource_name = options.resourceName;
  if (options.resourceDocumentation !== undefined) {
    doc.resource_documentation = new URL(options.resourceDocumentation).href;
  }
  const parsed = OAuthProtectedResourceMetadataSchema.safeParse(doc);
  if (!parsed.success) throw metadataError(parsed.error.message);
  return doc;
}

/**
 * Where the metadata document of `resource` is served (RFC 9728 §3.1, path-aware), from the MCP SDK.
 *
 * @example
 * protectedResourceMetadataUrl('https://acme.relay.example/mcp')
 * // 'https://acme.relay.example/.well-known/oauth-protected-resource/mcp'
 */
export function protectedResourceMetadataUrl(resource: string | URL): string {
  return getOAuthProtectedResourceMetadataUrl(new URL(resource));
}

export interface WwwAuthenticateOptions {
  /** OAuth error: omit when the request carried no credentials at all (RFC 6750 §3.1). */
  error?: OAuthChallengeError | (string & {});
  errorDescription?: string;
  /** The protected-resource metadata URL (`resource_metadata`, RFC 9728 §5.1). */
  resourceMetadataUrl: string;
  /** Scopes needed (`scope`), a list or a space-separated string. */
  scope?: string | readonly string[];
  /** Challenge with the `DPoP` scheme instead of `Bearer` (RFC 9449 §7.1). */
  dpop?: boolean;
  /** With `dpop`: accepted proof algorithms (`algs`). */
  dpopAlgs?: readonly string[];
}

/**
 * The `WWW-Authenticate` header value. Every parameter is an HTTP quoted-string: `\` and `"` are
 * escaped and characters outside printable ASCII become spaces, so no value can break the header.
 *
 * @example
 * wwwAuthenticate({ error: 'invalid_token', errorDescription: 'token expired', resourceMetadataUrl: url })
 * // 'Bearer error="invalid_token", error_description="token expired", resource_metadata="https://…"'
 */
export function wwwAuthenticate(options: WwwAuthenticateOptions): string {
  const params: string[] = [];
  if (options.error) params.push(`error="${quoted(options.error)}"`);
  if (options.error && options.errorDescription) {
    params.push(`error_description="${quoted(options.errorDescription)}"`);
  }
  const scope = typeof options.scope === 'string' ? options.scope : options.scope?.join(' ');
  if (scope) params.push(`scope="${quoted(scope)}"`);
  params.push(`resource_metadata="${quoted(options.resourceMetadataUrl)}"`);
  if (options.dpop && options.dpopAlgs && options.dpopAlgs.length > 0) {
    params.push(`algs="${quoted(options.dpopAlgs.join(' '))}"`);
  }
  return `${options.dpop ? 'DPoP' : 'Bearer'} ${params.join(', ')}`;
}

/** The HTTP answer for a refused token: status, headers and the OAuth error body. */
export interface TokenChallenge {
  status: 401 | 403 | 503;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

/**
 * Maps a refusal to its HTTP answer. A `TokenError` keeps its status (401/403/503); anything else
 * is a 503 that reveals nothing. 503 answers carry `Retry-After` instead of a challenge.
 *
 * @example
 * catch (e) { const c = tokenChallenge(e, { resourceMetadataUrl: url }); res.writeHead(c.status, c.headers).end(JSON.stringify(c.body)); }
 */
export function tokenChallenge(
  err: unknown,
  options: Omit<WwwAuthenticateOptions, 'error' | 'errorDescription'> & { retryAfterSec?: number },
): TokenChallenge {
  const error =
    err instanceof TokenError
      ? err
      : new TokenError('AIRLOCK_TOKEN_UNVERIFIABLE', 'the credentials cannot be verified right now');
  const body = { error: error.oauthError, error_description: error.message };
  if (error.httpStatus === 503) {
    return {
      status: 503,
      headers: { 'Content-Type': 'application/json', 'Retry-After': String(options.retryAfterSec ?? 5) },
      body,
    };
  }
  const { retryAfterSec: _ignored, ...challenge } = options;
  return {
    status: error.httpStatus,
    headers: {
      'Content-Type': 'application/json',
      'WWW-Authenticate': wwwAuthenticate({
        ...challenge,
        error: error.oauthError,
        errorDescription: error.message,
      }),
    },
    body,
  };
}

/**
 * Adapts a `JwtVerifier` to the MCP SDK's `OAuthTokenVerifier`, so the SDK's `requireBearerAuth` /
 * `verifyBearerToken` can run in front of an SDK-served endpoint. `TokenError`s become `OAuthError`s
 * (`invalid_token`, `insufficient_scope`, `server_error` for 503). DPoP-bound tokens are refused here:
 * the SDK helpers only speak `Bearer`, and a bound token must come with a proof.
 *
 * @example
 * const gate = requireBearerAuth({ verifier: toOAuthTokenVerifier(jwt), expectedResource: new URL(resource) });
 */
export function toOAuthTokenVerifier(verifier: JwtVerifier): OAuthTokenVerifier {
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      let verified: Awaited<ReturnType<JwtVerifier['verify']>>;
      try {
        verified = await verifier.verify(token);
      } catch (err) {
        if (err instanceof TokenError) {
          const code =
            err.httpStatus === 403
              ? OAuthErrorCode.InsufficientScope
              : err.httpStatus === 503
                ? OAuthErrorCode.ServerError
                : OAuthErrorCode.InvalidToken;
          throw new OAuthError(code, err.message);
        }
        throw err;
      }
      if (verified.cnfJkt !== undefined) {
        throw new OAuthError(
          OAuthErrorCode.InvalidToken,
          'DPoP-bound access token presented without a DPoP proof',
        );
      }
      const info: AuthInfo = {
        token,
        clientId: verified.clientId ?? verified.subject,
        scopes: verified.scopes,
        expiresAt: Math.floor(verified.expiresAt / 1000),
        resource: new URL(verifier.audience),
        extra: { subject: verified.subject, issuer: verified.issuer },
      };
      return info;
    },
  };
}

function quoted(value: string): string {
  return value.replaceAll(/[\\"]/g, '\\$&').replaceAll(/[^\u0020-\u007E]/g, ' ');
}

function checkedUrl(
  value: string | URL,
  what: string,
  allowInsecure: boolean,
  opts: { allowQuery: boolean },
): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw metadataError(`${what} ${JSON.stringify(String(value))} is not an absolute URL`);
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\./.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (loopback || allowInsecure))) {
    throw metadataError(`${what} ${url.href} must use https`);
  }
  if (url.hash || String(value).includes('#'))
    throw metadataError(`${what} ${url.href} must not have a fragment`);
  if (!opts.allowQuery && url.search) throw metadataError(`${what} ${url.href} must not have a query`);
  // Keep the identifier exactly as configured (new URL would add a trailing slash to a bare origin).
  return typeof value === 'string' ? value : url.href;
}

function metadataError(message: string): IdentityError {
  return new IdentityError('AIRLOCK_RESOURCE_METADATA_INVALID', `protected-resource metadata: ${message}`);
}
