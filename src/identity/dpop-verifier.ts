/**
 * DPoP proofs (RFC 9449): the agent proves, on every request, that it holds the private key its
 * access token is bound to (`cnf.jkt`). A stolen DPoP-bound token is useless without that key.
 *
 * Checked, in this order (a replayed `jti` is only recorded once everything else passed, so invalid
 * proofs cannot fill the replay cache): `typ` is `dpop+jwt`; `alg` is an allowed asymmetric algorithm;
 * `jwk` is an embedded public key; the signature verifies with it; `htm` equals the request method;
 * `htu` equals the request URL without query and fragment (both normalized); `iat` is within
 * `maxAgeSec` in the past (and at most the clock tolerance in the future); `ath` is
 * base64url(SHA-256(access token)); the key's RFC 7638 thumbprint equals the token's `cnf.jkt`;
 * `jti` was not seen before.
 *
 * @example
 * const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache() });
 * const token = await jwtVerifier.verify(accessToken);
 * await dpop.verify({ proof: req.headers.dpop, method: 'POST', url: 'https://acme.relay.example/mcp',
 *   accessToken, expectedJkt: token.cnfJkt });
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { IdentityError } from '../errors/airlock-error.js';
import type { ReplayCache } from './dpop-replay-cache.js';
import { TOKEN_ERROR_CODES, TokenError } from './jwt-token-error.js';
import { ASYMMETRIC_JWS_ALGORITHMS, compactJwsHeader } from './jwt-verifier.js';

/** A proof is accepted at most this many seconds after its `iat`. */
export const DEFAULT_DPOP_MAX_AGE_SEC = 60;
/** Seconds a proof's `iat` may lie in the future (clock skew between agent and connector). */
export const DEFAULT_DPOP_CLOCK_TOLERANCE_SEC = 5;
/** Accepted proof algorithms (also what protected-resource metadata advertises). */
export const DEFAULT_DPOP_ALGORITHMS: readonly string[] = ['ES256', 'EdDSA', 'RS256', 'PS256'];
/** Proofs longer than this are refused before parsing. */
export const DEFAULT_MAX_DPOP_PROOF_BYTES = 8 * 1024;
/** `jti` values longer than this are refused. */
const MAX_JTI_LENGTH = 256;

export interface DpopVerifierOptions {
  /** Where used `jti`s are remembered, e.g. `new MemoryReplayCache()`. */
  replayCache: ReplayCache;
  /** Default `DEFAULT_DPOP_MAX_AGE_SEC` (60). */
  maxAgeSec?: number;
  /** Default `DEFAULT_DPOP_CLOCK_TOLERANCE_SEC` (5). */
  clockToleranceSec?: number;
  /** Default `DEFAULT_DPOP_ALGORITHMS`; only asymmetric algorithms can be configured. */
  algorithms?: readonly string[];
  /** Default `DEFAULT_MAX_DPOP_PROOF_BYTES` (8 KiB). */
  maxProofBytes?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export interface DpopProofInput {
  /** The `DPoP` request header (exactly one proof). */
  proof: string | undefined;
  /** The request's HTTP method, e.g. `POST`. */
  method: string;
  /** The request's full URL as the agent addressed it (`https://acme.relay.example/mcp`). */
  url: string | URL;
  /** The access token presented with the proof (`Authorization: DPoP <token>`). */
  accessToken: string;
  /** The access token's `cnf.jkt`. A token without one is not DPoP-bound and is refused here. */
  expectedJkt: string | undefined;
}

export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key (equals the token's `cnf.jkt`). */
  jkt: string;
  jti: string;
  /** `iat` in epoch milliseconds. */
  issuedAt: number;
  /** The proof's public key. */
  jwk: JWK;
}

export interface DpopVerifier {
  /** Verifies one proof for one request. Throws `TokenError` (`AIRLOCK_DPOP_*`). */
  verify(input: DpopProofInput): Promise<VerifiedDpopProof>;
  /** Accepted algorithms, for `dpop_signing_alg_values_supported` and the `algs` challenge parameter. */
  readonly algorithms: readonly string[];
}

/** The verifier's settings, defaults applied. */
interface DpopSettings {
  algorithms: string[];
  allowed: ReadonlySet<string>;
  maxAgeSec: number;
  toleranceSec: number;
  maxBytes: number;
  now: () => number;
  cache: ReplayCache;
}

/** Checks before any cryptography: a proof of bounded size, a bound token, `typ`, `alg` and a public `jwk`. */
function checkProofHeader(
  input: DpopProofInput,
  s: DpopSettings,
): { proof: string; expectedJkt: string; jwk: object } {
  const proof = input.proof;
  if (typeof proof !== 'string' || proof.length === 0) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopInvalid, 'a DPoP-bound access token requires a DPoP proof');
  }
  if (proof.length > s.maxBytes) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopInvalid, `DPoP proof is longer than ${s.maxBytes} bytes`);
  }
  if (typeof input.expectedJkt !== 'string' || input.expectedJkt.length === 0) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopBinding, 'the access token is not DPoP-bound (no cnf.jkt)');
  }
  const header = compactJwsHeader(proof, TOKEN_ERROR_CODES.dpopInvalid, 'DPoP proof');
  if (header.typ !== 'dpop+jwt') {
    throw new TokenError(TOKEN_ERROR_CODES.dpopInvalid, 'DPoP proof "typ" must be "dpop+jwt"');
  }
  if (typeof header.alg !== 'string' || !s.allowed.has(header.alg)) {
    throw new TokenError(
      TOKEN_ERROR_CODES.dpopInvalid,
      `DPoP proof algorithm ${JSON.stringify(header.alg ?? null)} is not accepted (accepted: ${s.algorithms.join(', ')})`,
    );
  }
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopInvalid, 'DPoP proof has no embedded "jwk"');
  }
  if (PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopInvalid, 'DPoP proof "jwk" must not contain a private key');
  }
  return { proof, expectedJkt: input.expectedJkt, jwk };
}

/** The signature with the embedded key, and `iat` within the window; a stale `iat` is `dpopStale`. */
async function verifyProofSignature(proof: string, s: DpopSettings): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: s.algorithms,
      currentDate: new Date(s.now()),
      clockTolerance: s.toleranceSec,
      maxTokenAge: s.maxAgeSec,
      requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'],
    });
    return payload;
  } catch (cause) {
    const name = (cause as { code?: string }).code;
    if (
      (name === 'ERR_JWT_EXPIRED' || name === 'ERR_JWT_CLAIM_VALIDATION_FAILED') &&
      (cause as { claim?: string }).claim === 'iat'
    ) {
      throw new TokenError(TOKEN_ERROR_CODES.dpopStale, 'DPoP proof "iat" is outside the accepted window', {
        cause,
      });
    }
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new TokenError(TOKEN_ERROR_CODES.dpopInvalid, `DPoP proof is invalid: ${detail}`, { cause });
  }
}

/** `htm`, `htu` and `ath`: the proof was made for this request and this access token. */
function checkProofRequest(payload: JWTPayload, input: DpopProofInput): void {
  if (typeof payload.htm !== 'string' || payload.htm !== input.method) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopMethod, 'DPoP proof "htm" does not match the request method');
  }
  const expectedUrl = normalizeHtu(input.url);
  if (expectedUrl === undefined) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopUrl, 'the request URL is not an absolute URL');
  }
  if (typeof payload.htu !== 'string' || normalizeHtu(payload.htu) !== expectedUrl) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopUrl, 'DPoP proof "htu" does not match the request URL');
  }
  if (typeof payload.ath !== 'string' || !sameText(payload.ath, accessTokenHash(input.accessToken))) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopAth, 'DPoP proof "ath" does not match the access token');
  }
}

/** The `jti`, recorded last (so invalid proofs cannot fill the cache) until the proof would be too old anyway. */
async function recordFirstUse(
  payload: JWTPayload,
  jkt: string,
  s: DpopSettings,
): Promise<{ jti: string; issuedAt: number }> {
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw new TokenError(
      TOKEN_ERROR_CODES.dpopInvalid,
      `DPoP proof "jti" must be 1 to ${MAX_JTI_LENGTH} characters`,
    );
  }
  const issuedAt = (payload.iat as number) * 1000;
  const keepUntil = issuedAt + (s.maxAgeSec + s.toleranceSec) * 1000 + 1000;
  const firstUse = await s.cache.checkAndRecord(`${jkt}:${jti}`, keepUntil);
  if (!firstUse) {
    throw new TokenError(TOKEN_ERROR_CODES.dpopReplay, 'DPoP proof was already used (jti replay)');
  }
  return { jti, issuedAt };
}

/**
 * Creates a DPoP proof verifier. Throws `IdentityError` `AIRLOCK_TOKEN_CONFIG` for a symmetric algorithm.
 *
 * @example
 * const dpop = createDpopVerifier({ replayCache: new MemoryReplayCache(), maxAgeSec: 30 });
 */
export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_DPOP_ALGORITHMS)];
  if (algorithms.length === 0 || algorithms.some((a) => !ASYMMETRIC_JWS_ALGORITHMS.includes(a))) {
    throw new IdentityError(
      'AIRLOCK_TOKEN_CONFIG',
      `DPoP verifier: algorithms must be asymmetric (${ASYMMETRIC_JWS_ALGORITHMS.join(', ')})`,
    );
  }
  const settings: DpopSettings = {
    algorithms,
    allowed: new Set(algorithms),
    maxAgeSec: options.maxAgeSec ?? DEFAULT_DPOP_MAX_AGE_SEC,
    toleranceSec: options.clockToleranceSec ?? DEFAULT_DPOP_CLOCK_TOLERANCE_SEC,
    maxBytes: options.maxProofBytes ?? DEFAULT_MAX_DPOP_PROOF_BYTES,
    now: options.now ?? Date.now,
    cache: options.replayCache,
  };

  return {
    algorithms,
    async verify(input) {
      const { proof, expectedJkt, jwk } = checkProofHeader(input, settings);
      const payload = await verifyProofSignature(proof, settings);
      checkProofRequest(payload, input);
      const jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256');
      if (!sameText(jkt, expectedJkt)) {
        throw new TokenError(
          TOKEN_ERROR_CODES.dpopBinding,
          'DPoP proof key is not the key the access token is bound to',
        );
      }
      const { jti, issuedAt } = await recordFirstUse(payload, jkt, settings);
      return { jkt, jti, issuedAt, jwk: jwk as JWK };
    },
  };
}

/** base64url(SHA-256(ASCII access token)): the `ath` claim of a DPoP proof. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/**
 * `htu` comparison form (RFC 9449 §4.3): scheme and host lowercased, default port dropped, dot
 * segments resolved, query and fragment removed. Undefined for something that is not an absolute URL.
 *
 * @example
 * normalizeHtu('HTTPS://Acme.Example:443/mcp?x=1#f') // 'https://acme.example/mcp'
 */
export function normalizeHtu(url: string | URL): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
