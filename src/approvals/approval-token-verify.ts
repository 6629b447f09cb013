/**
 * Verification of Airlock approval tokens, for private MCP servers: refuse destructive work unless the
 * connector attached a valid token for exactly this tool and these arguments. Depends only on `jose`
 * and the canonical-JSON module, so a server can import it alone.
 *
 * A token is refused (`ApprovalTokenError`, code `AIRLOCK_APPROVAL_TOKEN_INVALID`, `reason` one of
 * `missing`, `signature`, `expired`, `issuer`, `type`, `tool`, `arguments`, `malformed`) when it is
 * absent, not signed by a key of the connector's JWKS (EdDSA or ES256), expired (or issued in the
 * future), from another issuer, not an approval token (`typ` other than `airlock-approval+jwt`, e.g.
 * the connector's upstream access tokens), for another tool, or for other arguments (SHA-256 of the
 * RFC 8785 canonical JSON must match).
 *
 * Where to find it: `ctx.mcpReq._meta["airlock/approval"]` in an MCP SDK tool handler (every upstream
 * kind), or the `Airlock-Approval` header of an HTTP upstream's request.
 *
 * @example
 * import { createRemoteJWKSet } from 'jose';
 * const keys = createRemoteJWKSet(new URL('https://connector.acme.internal:8443/.well-known/jwks.json'));
 * server.registerTool('delete_customer', { inputSchema }, async (args, ctx) => {
 *   await verifyApprovalToken(approvalTokenFromMeta(ctx.mcpReq._meta), {
 *     keys, issuer: 'https://acme.relay.example', tool: 'erp.delete_customer', arguments: args,
 *   }); // throws ApprovalTokenError when not approved for exactly this call
 *   ...
 * });
 */
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { AirlockError } from '../errors/airlock-error.js';
import { sha256Canonical } from '../json/canonical-hash.js';

/** `_meta` key of the token (the tier stage's `APPROVAL_TOKEN_META_KEY`). */
export const APPROVAL_META_KEY = 'airlock/approval';
/** Accepted JWT `typ`. */
export const APPROVAL_JWT_TYP = 'airlock-approval+jwt';
/** Default allowed clock skew between connector and server. */
export const DEFAULT_APPROVAL_CLOCK_TOLERANCE_SEC = 5;

export type ApprovalTokenRefusal =
  | 'missing'
  | 'malformed'
  | 'signature'
  | 'expired'
  | 'issuer'
  | 'type'
  | 'tool'
  | 'arguments';

/** A token was refused; `reason` says why. */
export class ApprovalTokenError extends AirlockError {
  readonly reason: ApprovalTokenRefusal;
  constructor(reason: ApprovalTokenRefusal, message: string, options?: { cause?: unknown }) {
    super('AIRLOCK_APPROVAL_TOKEN_INVALID', message, options);
    this.reason = reason;
  }
}

export interface ApprovalTokenExpectation {
  /** The connector's verification keys: a JWKS document, or a jose key getter (`createRemoteJWKSet`). */
  keys: JSONWebKeySet | JWTVerifyGetKey;
  /** The connector's issuer (its tenant URL unless configured otherwise). */
  issuer: string;
  /** The tool as the connector names it, e.g. `erp.delete_customer`. */
  tool: string;
  /** The arguments about to be acted on. */
  arguments: Record<string, unknown>;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Default {@link DEFAULT_APPROVAL_CLOCK_TOLERANCE_SEC}. */
  clockToleranceSec?: number;
}

/** What a valid token says. */
export interface VerifiedApproval {
  approvalId: string;
  approvers: string[];
  tool: string;
  argsHash: string;
  /** The agent the call was approved for. */
  agent: string;
  /** Epoch seconds. */
  expiresAt: number;
}

/** The token in a request's `_meta`, or undefined. */
export function approvalTokenFromMeta(meta: unknown): string | undefined {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  const token = (meta as Record<string, unknown>)[APPROVAL_META_KEY];
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/**
 * Verifies `token` for exactly `expected.tool` and `expected.arguments`; throws `ApprovalTokenError`
 * otherwise (see the module comment).
 */
export async function verifyApprovalToken(
  token: string | undefined,
  expected: ApprovalTokenExpectation,
): Promise<VerifiedApproval> {
  if (token === undefined || token === '') {
    throw new ApprovalTokenError('missing', `'${expected.tool}' needs a supervisor's approval token`);
  }
  let typ: unknown;
  try {
    typ = decodeProtectedHeader(token).typ;
  } catch (cause) {
    throw new ApprovalTokenError('malformed', 'the approval token is not a JWT', { cause });
  }
  if (typ !== APPROVAL_JWT_TYP) throw new ApprovalTokenError('type', 'the token is not an approval token');
  const keys = typeof expected.keys === 'function' ? expected.keys : createLocalJWKSet(expected.keys);
  const now = expected.now ?? Date.now;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      issuer: expected.issuer,
      typ: APPROVAL_JWT_TYP,
      algorithms: ['EdDSA', 'ES256'],
      currentDate: new Date(now()),
      clockTolerance: expected.clockToleranceSec ?? DEFAULT_APPROVAL_CLOCK_TOLERANCE_SEC,
      requiredClaims: ['exp', 'iat', 'sub'],
    }));
  } catch (cause) {
    throw refusal(cause);
  }
  if (payload.tool !== expected.tool) {
    throw new ApprovalTokenError('tool', `the approval token is for another tool, not '${expected.tool}'`);
  }
  if (payload.args_sha256 !== sha256Canonical(expected.arguments)) {
    throw new ApprovalTokenError('arguments', 'the approval token was issued for other arguments');
  }
  const approvers = payload.approvers;
  if (typeof payload.approval_id !== 'string' || !Array.isArray(approvers) || approvers.length === 0) {
    throw new ApprovalTokenError('malformed', 'the approval token lacks its approval id or approvers');
  }
  return {
    approvalId: payload.approval_id,
    approvers: approvers.map(String),
    tool: expected.tool,
    argsHash: String(payload.args_sha256),
    agent: String(payload.sub),
    expiresAt: Number(payload.exp),
  };
}

function refusal(cause: unknown): ApprovalTokenError {
  if (cause instanceof errors.JWTExpired) {
    return new ApprovalTokenError('expired', 'the approval token has expired', { cause });
  }
  if (cause instanceof errors.JWTClaimValidationFailed) {
    const claim = cause.claim;
    if (claim === 'iss')
      return new ApprovalTokenError('issuer', 'the approval token is from another issuer', { cause });
    if (claim === 'iat' || claim === 'nbf') {
      return new ApprovalTokenError('expired', 'the approval token is not valid yet', { cause });
    }
    return new ApprovalTokenError('malformed', `the approval token's "${claim}" claim is invalid`, { cause });
  }
  if (cause instanceof errors.JWSSignatureVerificationFailed || cause instanceof errors.JWKSNoMatchingKey) {
    return new ApprovalTokenError('signature', "the approval token is not signed by the connector's key", {
      cause,
    });
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ApprovalTokenError('signature', `the approval token could not be verified: ${message}`, {
    cause,
  });
}
