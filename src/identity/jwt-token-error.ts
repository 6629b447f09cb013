/**
 * Why an OAuth access token (or its DPoP proof) was refused. Every refusal is a `TokenError`, an
 * `IdentityError` with a stable code, the HTTP status the resource server answers with, and the OAuth
 * `error` value for the `WWW-Authenticate` challenge (RFC 6750 §3.1, RFC 9449 §7.1).
 *
 * @example
 * try { await verifier.verify(token) } catch (e) {
 *   if (e instanceof TokenError) {
 *     res.writeHead(e.httpStatus, { 'WWW-Authenticate': wwwAuthenticate({ error: e.oauthError, ... }) });
 *   }
 * }
 */
import { IdentityError } from '../errors/airlock-error.js';

/** Stable codes of `TokenError`. Never reworded once released. */
export const TOKEN_ERROR_CODES = {
  /** Malformed, bad signature, unknown key, missing claim, not yet valid, wrong `typ`. 401. */
  invalid: 'AIRLOCK_TOKEN_INVALID',
  /** `exp` passed, or `iat` older than `maxTokenAgeSec`. 401. */
  expired: 'AIRLOCK_TOKEN_EXPIRED',
  /** `aud` does not name this resource. 401. */
  audience: 'AIRLOCK_TOKEN_AUDIENCE',
  /** `iss` is not the configured authorization server. 401. */
  issuer: 'AIRLOCK_TOKEN_ISSUER',
  /** `alg` is `none`, symmetric (HS*), or not in the allow-list. 401. */
  alg: 'AIRLOCK_TOKEN_ALG',
  /** A required scope is missing. 403 `insufficient_scope`. */
  scope: 'AIRLOCK_TOKEN_SCOPE',
  /** The JWKS could not be fetched (down, timeout, not JSON): fail closed, retry later. 503. */
  unverifiable: 'AIRLOCK_TOKEN_UNVERIFIABLE',
  /** The DPoP proof is malformed, badly signed, has the wrong `typ`/`alg`/`jwk` or misses claims. 401. */
  dpopInvalid: 'AIRLOCK_DPOP_INVALID',
  /** The proof's `htm` is not the request method. 401. */
  dpopMethod: 'AIRLOCK_DPOP_HTM',
  /** The proof's `htu` is not the request URL (query and fragment ignored). 401. */
  dpopUrl: 'AIRLOCK_DPOP_HTU',
  /** The proof's `iat` is outside the accepted window. 401. */
  dpopStale: 'AIRLOCK_DPOP_IAT',
  /** The proof's `ath` is not the hash of the presented access token. 401. */
  dpopAth: 'AIRLOCK_DPOP_ATH',
  /** The proof key's thumbprint is not the token's `cnf.jkt` (or the token is not DPoP-bound). 401. */
  dpopBinding: 'AIRLOCK_DPOP_JKT',
  /** The proof's `jti` was already used. 401. */
  dpopReplay: 'AIRLOCK_DPOP_REPLAY',
  /** The replay cache is full and refuses new proofs rather than forget unexpired ones. 503. */
  dpopCacheFull: 'AIRLOCK_DPOP_CACHE_FULL',
} as const;

export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[keyof typeof TOKEN_ERROR_CODES];

/** OAuth `error` values a resource server puts in its challenge. */
export type OAuthChallengeError =
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'temporarily_unavailable';

/** HTTP status for each code: 401 (authenticate again), 403 (authenticated, not allowed), 503 (retry). */
const STATUS: Record<TokenErrorCode, 401 | 403 | 503> = {
  AIRLOCK_TOKEN_INVALID: 401,
  AIRLOCK_TOKEN_EXPIRED: 401,
  AIRLOCK_TOKEN_AUDIENCE: 401,
  AIRLOCK_TOKEN_ISSUER: 401,
  AIRLOCK_TOKEN_ALG: 401,
  AIRLOCK_TOKEN_SCOPE: 403,
  AIRLOCK_TOKEN_UNVERIFIABLE: 503,
  AIRLOCK_DPOP_INVALID: 401,
  AIRLOCK_DPOP_HTM: 401,
  AIRLOCK_DPOP_HTU: 401,
  AIRLOCK_DPOP_IAT: 401,
  AIRLOCK_DPOP_ATH: 401,
  AIRLOCK_DPOP_JKT: 401,
  AIRLOCK_DPOP_REPLAY: 401,
  AIRLOCK_DPOP_CACHE_FULL: 503,
};

function oauthErrorOf(code: TokenErrorCode): OAuthChallengeError {
  if (code === 'AIRLOCK_TOKEN_SCOPE') return 'insufficient_scope';
  if (code === 'AIRLOCK_TOKEN_UNVERIFIABLE' || code === 'AIRLOCK_DPOP_CACHE_FULL') {
    return 'temporarily_unavailable';
  }
  // A proof bound to another key means the token is being used by someone else: the token is the problem.
  if (code === 'AIRLOCK_DPOP_JKT') return 'invalid_token';
  if (code.startsWith('AIRLOCK_DPOP_')) return 'invalid_dpop_proof';
  return 'invalid_token';
}

/** An access token or DPoP proof was refused. `httpStatus` and `oauthError` say how to answer. */
export class TokenError extends IdentityError {
  override readonly code: TokenErrorCode;
  /** 401: present a (new) valid credential; 403: valid but lacks scope; 503: cannot verify now. */
  readonly httpStatus: 401 | 403 | 503;
  /** The `error` parameter of the `WWW-Authenticate` challenge. */
  readonly oauthError: OAuthChallengeError;

  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown }) {
    const status = STATUS[code];
    super(code, message, { cause: options?.cause, retryable: status === 503 });
    this.code = code;
    this.httpStatus = status;
    this.oauthError = oauthErrorOf(code);
  }
}
