/**
 * OAuth 2.1 bearer access tokens (JWT, RFC 9068 style) from the customer's identity provider, verified
 * with `jose` against the provider's JWKS: signature with an asymmetric algorithm from an allow-list,
 * issuer, audience (this connector's resource URL, RFC 8707), `exp`/`nbf`/`iat` with a small clock
 * tolerance, and optionally required scopes. Keys come from `createRemoteJWKSet`: an unknown `kid`
 * triggers one refetch (after the cooldown), then the token is refused.
 *
 * Refused on purpose: `alg: none`, every symmetric algorithm (an HS256 token "signed" with the
 * provider's public RSA key is the classic key-confusion attack), tokens for another audience or
 * issuer, expired or not-yet-valid tokens, unknown keys. Each refusal is a `TokenError` with a stable
 * code and the HTTP status to answer (401 / 403 / 503).
 *
 * @example
 * const verifier = createJwtVerifier({
 *   issuer: 'https://idp.acme.com',
 *   audience: 'https://acme.relay.example/mcp',
 *   jwksUri: 'https://idp.acme.com/.well-known/jwks.json',
 * });
 * const token = await verifier.verify(bearer); // { subject, clientId, scopes, expiresAt, claims, cnfJkt }
 */
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import { IdentityError } from '../errors/airlock-error.js';
import { TOKEN_ERROR_CODES, TokenError } from './jwt-token-error.js';

/** Signature algorithms accepted by default. Only asymmetric algorithms can ever be configured. */
export const DEFAULT_JWT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA', 'PS256'];
/** Asymmetric JWS algorithms that may appear in `algorithms`. */
export const ASYMMETRIC_JWS_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
/** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
export const DEFAULT_JWT_CLOCK_TOLERANCE_SEC = 30;
/** The JWKS HTTP request is aborted after this long (the token is then refused with 503). */
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;
/** After a successful fetch, an unknown `kid` triggers another fetch only after this long. */
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
/** Cached keys are refetched after this long even when every `kid` is known. */
export const DEFAULT_JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** Tokens longer than this are refused before any parsing. */
export const DEFAULT_MAX_JWT_BYTES = 16 * 1024;

export interface JwtVerifierOptions {
  /** The authorization server's issuer identifier; `iss` must equal it exactly. */
  issuer: string;
  /** This resource's identifier (usually its public URL); `aud` must contain it exactly. */
  audience: string;
  /** Where the authorization server publishes its signing keys. HTTPS unless on loopback. */
  jwksUri: string | URL;
  /** Accepted `alg` values. Default `DEFAULT_JWT_ALGORITHMS`; symmetric algorithms and `none` are refused. */
  algorithms?: readonly string[];
  /** Default `DEFAULT_JWT_CLOCK_TOLERANCE_SEC` (30). */
  clockToleranceSec?: number;
  /** Scopes every token must carry (`scope` / `scp` claim). Missing ones → 403 `AIRLOCK_TOKEN_SCOPE`. */
  requiredScopes?: readonly string[];
  /** When set, tokens must carry `iat` and be at most this old. */
  maxTokenAgeSec?: number;
  /** Required JWT `typ` header, e.g. `at+jwt` (RFC 9068). Default: not checked. */
  typ?: string;
  /** Default `DEFAULT_JWKS_TIMEOUT_MS` (5 s). */
  jwksTimeoutMs?: number;
  /** Default `DEFAULT_JWKS_COOLDOWN_MS` (30 s). */
  jwksCooldownMs?: number;
  /** Default `DEFAULT_JWKS_CACHE_MAX_AGE_MS` (10 min). */
  jwksCacheMaxAgeMs?: number;
  /** Default `DEFAULT_MAX_JWT_BYTES` (16 KiB). */
  maxTokenBytes?: number;
  /** Allow an `http:` JWKS URI on a non-loopback host. Never in production. Default false. */
  dangerouslyAllowInsecureJwksUri?: boolean;
  /** Clock (epoch ms) for claim checks. Default `Date.now`. */
  now?: () => number;
}

/** What a verified access token says. */
export interface VerifiedToken {
  /** `sub`: the user or workload the token was issued for. */
  subject: string;
  /** `client_id` (RFC 9068) or `azp`: the OAuth client that obtained the token. */
  clientId?: string;
  /** `iss`, equal to the configured issuer. */
  issuer: string;
  /** Scopes from `scope` (space-separated) or `scp` (array or string). */
  scopes: string[];
  /** `exp` in epoch milliseconds. */
  expiresAt: number;
  /** Every claim of the token, as verified. */
  claims: JWTPayload;
  /** `cnf.jkt`: the token is DPoP-bound to this key thumbprint; a valid DPoP proof is then required. */
  cnfJkt?: string;
}

export interface JwtVerifier {
  /**
   * Verifies a raw JWT (without the `Bearer ` prefix). Throws `TokenError`.
   * `requiredScopes` here adds to the verifier's own.
   */
  verify(token: string, opts?: { requiredScopes?: readonly string[] }): Promise<VerifiedToken>;
  /** The issuer and audience this verifier accepts. */
  readonly issuer: string;
  readonly audience: string;
}

/** Refuses unsafe verifier options: no or symmetric algorithms, no issuer or audience, a plain-HTTP JWKS. */
function checkVerifierOptions(options: JwtVerifierOptions, algorithms: readonly string[]): URL {
  if (algorithms.length === 0) throw configError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (!ASYMMETRIC_JWS_ALGORITHMS.includes(alg)) {
      throw configError(
        `algorithm ${JSON.stringify(alg)} is not allowed: only asymmetric algorithms (${ASYMMETRIC_JWS_ALGORITHMS.join(', ')}) can verify tokens from an identity provider`,
      );
    }
  }
  if (!options.issuer) throw configError('issuer is required');
  if (!options.audience) throw configError('audience is required');
  const jwksUrl = new URL(options.jwksUri);
  if (jwksUrl.protocol !== 'https:' && !(jwksUrl.protocol === 'http:' && isLoopback(jwksUrl.hostname))) {
    if (!options.dangerouslyAllowInsecureJwksUri || jwksUrl.protocol !== 'http:') {
      throw configError(`jwksUri must be https (or http on loopback), got ${jwksUrl.href}`);
    }
  }
  return jwksUrl;
}

/** What a verified payload says: subject, issuer, scopes, expiry, client and a `cnf.jkt` binding. */
function verifiedTokenOf(payload: JWTPayload, scopes: string[]): VerifiedToken {
  const verified: VerifiedToken = {
    subject: payload.sub as string,
    issuer: payload.iss as string,
    scopes,
    expiresAt: (payload.exp as number) * 1000,
    claims: payload,
  };
  const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp);
  if (clientId !== undefined) verified.clientId = clientId;
  const cnf = payload.cnf;
  if (cnf !== undefined) {
    const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
    if (typeof jkt !== 'string' || jkt.length === 0) {
      // A confirmation we do not understand (e.g. x5t#S256 for mTLS-bound tokens) cannot be enforced here.
      throw new TokenError(TOKEN_ERROR_CODES.invalid, 'access token has an unsupported "cnf" confirmation');
    }
    verified.cnfJkt = jkt;
  }
  return verified;
}

/**
 * Creates a verifier for one authorization server and one resource. Throws `IdentityError`
 * `AIRLOCK_TOKEN_CONFIG` for unsafe options (symmetric algorithm, `none`, plain-HTTP JWKS).
 *
 * @example
 * const verifier = createJwtVerifier({ issuer, audience: 'https://acme.relay.example/mcp', jwksUri, requiredScopes: ['mcp'] });
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_JWT_ALGORITHMS)];
  const jwksUrl = checkVerifierOptions(options, algorithms);
  const jwks = createRemoteJWKSet(jwksUrl, {
    timeoutDuration: options.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS,
    cooldownDuration: options.jwksCooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS,
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? DEFAULT_JWKS_CACHE_MAX_AGE_MS,
  });
  const allowed = new Set(algorithms);
  const maxBytes = options.maxTokenBytes ?? DEFAULT_MAX_JWT_BYTES;
  const now = options.now ?? Date.now;
  const baseScopes = options.requiredScopes ?? [];

  return {
    issuer: options.issuer,
    audience: options.audience,
    async verify(token, callOpts) {
      if (typeof token !== 'string' || token.length === 0) {
        throw new TokenError(TOKEN_ERROR_CODES.invalid, 'no access token');
      }
      if (token.length > maxBytes) {
        throw new TokenError(TOKEN_ERROR_CODES.invalid, `access token is longer than ${maxBytes} bytes`);
      }
      const header = compactJwsHeader(token, TOKEN_ERROR_CODES.invalid, 'access token');
      if (typeof header.alg !== 'string' || !allowed.has(header.alg)) {
        throw new TokenError(
          TOKEN_ERROR_CODES.alg,
          `access token algorithm ${JSON.stringify(header.alg ?? null)} is not accepted (accepted: ${algorithms.join(', ')})`,
        );
      }
      const verifyOptions: JWTVerifyOptions = {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: options.clockToleranceSec ?? DEFAULT_JWT_CLOCK_TOLERANCE_SEC,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(now()),
      };
      if (options.maxTokenAgeSec !== undefined) verifyOptions.maxTokenAge = options.maxTokenAgeSec;
      if (options.typ !== undefined) verifyOptions.typ = options.typ;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, verifyOptions));
      } catch (cause) {
        throw fromJoseError(cause);
      }
      const scopes = scopesOf(payload);
      const required = [...baseScopes, ...(callOpts?.requiredScopes ?? [])];
      const missing = required.filter((s) => !scopes.includes(s));
      if (missing.length > 0) {
        throw new TokenError(
          TOKEN_ERROR_CODES.scope,
          `access token lacks required scope: ${missing.join(' ')}`,
        );
      }
      return verifiedTokenOf(payload, scopes);
    },
  };
}

/**
 * The protected header of a compact JWS (three dot-separated parts), or a `TokenError` with `code`.
 * JWE (five parts) and JSON serializations are refused.
 */
export function compactJwsHeader(
  token: string,
  code: typeof TOKEN_ERROR_CODES.invalid | typeof TOKEN_ERROR_CODES.dpopInvalid,
  what: string,
): ProtectedHeaderParameters {
  if (token.split('.').length !== 3) throw new TokenError(code, `${what} is not a compact JWS`);
  try {
    return decodeProtectedHeader(token);
  } catch (cause) {
    throw new TokenError(code, `${what} has a malformed header`, { cause });
  }
}

/** Scopes of an access token: `scope` (RFC 9068, space-separated) or `scp` (array or string). */
export function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  return [...new Set(list.filter((s): s is string => typeof s === 'string' && s.length > 0))];
}

function fromJoseError(cause: unknown): TokenError {
  if (cause instanceof TokenError) return cause;
  if (cause instanceof errors.JWTExpired) {
    const what =
      cause.claim === 'iat'
        ? 'access token is older than the accepted maximum age'
        : 'access token has expired';
    return new TokenError(TOKEN_ERROR_CODES.expired, what, { cause });
  }
  if (cause instanceof errors.JWTClaimValidationFailed) {
    if (cause.claim === 'aud') {
      return new TokenError(
        TOKEN_ERROR_CODES.audience,
        'access token was not issued for this resource (aud)',
        {
          cause,
        },
      );
    }
    if (cause.claim === 'iss') {
      return new TokenError(
        TOKEN_ERROR_CODES.issuer,
        'access token was not issued by the trusted issuer (iss)',
        {
          cause,
        },
      );
    }
    if (cause.claim === 'nbf') {
      return new TokenError(TOKEN_ERROR_CODES.invalid, 'access token is not valid yet (nbf)', { cause });
    }
    return new TokenError(TOKEN_ERROR_CODES.invalid, `access token claim check failed: ${cause.message}`, {
      cause,
    });
  }
  if (cause instanceof errors.JOSEAlgNotAllowed) {
    return new TokenError(TOKEN_ERROR_CODES.alg, 'access token algorithm is not accepted', { cause });
  }
  if (cause instanceof errors.JWKSNoMatchingKey) {
    return new TokenError(
      TOKEN_ERROR_CODES.invalid,
      'access token is signed by a key the issuer does not publish',
      {
        cause,
      },
    );
  }
  if (cause instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenError(TOKEN_ERROR_CODES.invalid, 'access token signature is invalid', { cause });
  }
  if (
    cause instanceof errors.JWSInvalid ||
    cause instanceof errors.JWTInvalid ||
    cause instanceof errors.JWKSMultipleMatchingKeys ||
    cause instanceof errors.JOSENotSupported ||
    cause instanceof errors.JWKInvalid
  ) {
    return new TokenError(TOKEN_ERROR_CODES.invalid, `access token is invalid: ${cause.message}`, { cause });
  }
  // JWKS timeout, an unreachable or broken JWKS endpoint, or anything unexpected: fail closed, retryable.
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TokenError(
    TOKEN_ERROR_CODES.unverifiable,
    `access token cannot be verified right now (JWKS unavailable: ${detail})`,
    { cause },
  );
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function configError(message: string): IdentityError {
  return new IdentityError('AIRLOCK_TOKEN_CONFIG', `JWT verifier: ${message}`);
}
