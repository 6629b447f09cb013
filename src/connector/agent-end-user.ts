/**
 * Optional end-user identity: an agent acting for a person may present that person's token from the
 * customer's IdP in the `X-Airlock-End-User` request header (the raw JWT, no scheme prefix). The token is
 * verified like an access token (signature against the IdP's JWKS, issuer, audience, expiry, algorithm)
 * with its own `JwtVerifier`, on every request; the result (`{ subject, issuer }`) is recorded on the
 * request context and audited, and the upstream only ever receives a short-lived token minted by the
 * connector (src/identity/upstream-token-minter.ts), never this one. A DPoP-bound end-user token is
 * refused: the agent cannot prove possession of the user's key.
 *
 * Header:
 *   X-Airlock-End-User: eyJhbGciOiJSUzI1NiIsImtpZCI6...   (one compact JWS, at most `maxTokenBytes`)
 *
 * @example
 * const endUser = { verifier: createJwtVerifier({ issuer, audience: 'https://acme.relay.example/mcp', jwksUri }) };
 * const result = await resolveEndUser(req, endUser); // { ok: true, endUser: { subject: 'alice', issuer } }
 */
import type { IncomingMessage } from 'node:http';
import type { EndUser } from '../gateway/gateway-context.js';
import { TokenError } from '../identity/jwt-token-error.js';
import type { JwtVerifier } from '../identity/jwt-verifier.js';

/** The request header carrying the end user's IdP token (lowercase, as Node exposes it). */
export const END_USER_HEADER = 'x-airlock-end-user';

/** End-user options of `AgentEndpoint` (`endUser`). */
export interface AgentEndUserOptions {
  /** Verifies end-user tokens (may be the agent-token verifier, or one for another audience/IdP). */
  verifier: JwtVerifier;
  /** Refuse requests without an end-user token. Default false. */
  required?: boolean;
  /** Header name. Default {@link END_USER_HEADER}. */
  header?: string;
}

export type EndUserResult =
  | { ok: true; endUser: EndUser | undefined }
  | { ok: false; status: 401 | 503; airlock: string; message: string };

/**
 * Verifies the end-user token of a request, if any. Refusals: 401 `AIRLOCK_END_USER_MISSING` (required
 * but absent), 401 `AIRLOCK_END_USER_INVALID` (bad, expired, wrong audience/issuer, DPoP-bound, several
 * headers), 503 `AIRLOCK_END_USER_UNVERIFIABLE` (IdP keys unavailable).
 */
export async function resolveEndUser(
  req: IncomingMessage,
  options: AgentEndUserOptions,
): Promise<EndUserResult> {
  const name = (options.header ?? END_USER_HEADER).toLowerCase();
  const raw = req.headers[name];
  if (raw === undefined || raw === '') {
    if (!options.required) return { ok: true, endUser: undefined };
    return {
      ok: false,
      status: 401,
      airlock: 'AIRLOCK_END_USER_MISSING',
      message: `An end-user token is required in the ${name} header`,
    };
  }
  if (typeof raw !== 'string' || raw.includes(',')) {
    return invalid(`Exactly one end-user token is accepted in the ${name} header`);
  }
  try {
    const token = await options.verifier.verify(raw.trim());
    if (token.cnfJkt !== undefined)
      return invalid('A DPoP-bound end-user token cannot be presented by an agent');
    return {
      ok: true,
      endUser: {
        subject: token.subject,
        issuer: token.issuer,
        expiresAt: token.expiresAt,
        claims: token.claims,
      },
    };
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    if (err.httpStatus === 503) {
      return {
        ok: false,
        status: 503,
        airlock: 'AIRLOCK_END_USER_UNVERIFIABLE',
        message: `The end-user token cannot be verified right now: ${err.message}`,
      };
    }
    return invalid(`The end-user token was refused: ${err.message}`);
  }
}

function invalid(message: string): EndUserResult {
  return { ok: false, status: 401, airlock: 'AIRLOCK_END_USER_INVALID', message };
}
