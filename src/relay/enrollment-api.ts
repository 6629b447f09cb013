/**
 * `POST /v1/enroll`: trades a single-use enrollment token and a CSR for a connector client
 * certificate signed by the relay's connector CA (URI SAN `airlock://connector/<tenant>/<id>`).
 *
 * The token is consumed before the CSR is checked (the tenant comes from the token), so a request
 * with a broken CSR burns its token; `enrollConnector` always sends a valid one. An optional
 * `auditPublicKeyPem` is checked BEFORE the token is consumed and, once the connector is enrolled,
 * registered with the relay's audit witness for the token's tenant.
 *
 * Binding (see connector-binding.ts): with a valid `bindingCertPem` (and, for the tenant's first
 * connector, `tenantCaPem`, which is then pinned) the connector is bound; without one it is enrolled
 * UNBOUND (no tunnels, no audit key); with an invalid one the enrollment is refused (403
 * `AIRLOCK_ENROLL_BINDING_INVALID`, the token is spent).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { auditPublicKeyFromPem } from '../audit/audit-key.js';
import { type CertifiedKey, issueFromCsr } from '../identity/pki.js';
import { readBoundedText } from '../net/bounded-body.js';
import type { Store } from '../store/store.js';
import {
  EnrollCodes,
  type EnrollRequest,
  type EnrollResponse,
  enrollRequestSchema,
} from '../tunnel/enrollment-protocol.js';
import { connectorUri } from '../tunnel/protocol.js';
import { checkConnectorBinding } from './connector-binding.js';
import { parseEnrollmentToken } from './enrollment-token.js';

/** Largest accepted enrollment request body. */
export const DEFAULT_MAX_ENROLL_BODY_BYTES = 32 * 1024;

export interface EnrollmentContext {
  store: Store;
  connectorCa: CertifiedKey;
  domain: string;
  logger: Logger;
  maxBodyBytes: number;
  /** Registers the connector's audit public key with the audit witness (see audit-witness-api.ts). */
  registerAuditKey?: (tenant: string, publicKeyPem: string) => Promise<unknown>;
  /** Counts a refused token (rate-limited summary instead of a log line each). Default: a log line. */
  onTokenRefused?: (reason: string) => void;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

const TOKEN_ERRORS = {
  used: [
    EnrollCodes.TOKEN_USED,
    'this enrollment token was already used; ask the relay operator for a new one',
  ],
  expired: [EnrollCodes.TOKEN_EXPIRED, 'this enrollment token expired; ask the relay operator for a new one'],
  unknown: [EnrollCodes.TOKEN_UNKNOWN, 'unknown enrollment token; check that it was copied completely'],
  mismatch: [EnrollCodes.TOKEN_UNKNOWN, 'unknown enrollment token; check that it was copied completely'],
} as const;

/** Reads and checks the request body; writes the refusal and returns undefined when it is not valid. */
async function readEnrollRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: EnrollmentContext,
): Promise<EnrollRequest | undefined> {
  const text = await readBoundedText(req, ctx.maxBodyBytes, { drain: true });
  if (text === undefined) {
    sendError(res, 413, EnrollCodes.TOO_LARGE, `request body exceeds ${ctx.maxBodyBytes} bytes`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = enrollRequestSchema.safeParse(json);
  if (!parsed.success) {
    sendError(res, 400, EnrollCodes.BAD_REQUEST, 'body must be JSON { "token": "...", "csr": "..." }');
    return undefined;
  }
  const auditKeyPem = parsed.data.auditPublicKeyPem;
  if (auditKeyPem !== undefined) {
    try {
      auditPublicKeyFromPem(auditKeyPem);
    } catch (err) {
      sendError(res, 400, EnrollCodes.AUDIT_KEY_INVALID, (err as Error).message);
      return undefined;
    }
  }
  return parsed.data;
}

/** Handles one enrollment request. */
export async function handleEnroll(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: EnrollmentContext,
): Promise<void> {
  const request = await readEnrollRequest(req, res, ctx);
  if (request === undefined) return;
  const parsed = { data: request };
  const auditKeyPem = request.auditPublicKeyPem;
  const token = parseEnrollmentToken(parsed.data.token);
  if (!token) {
    const [code, message] = TOKEN_ERRORS.unknown;
    sendError(res, 401, code, message);
    return;
  }
  const consumed = await ctx.store.relay.consumeEnrollmentToken(token.id, token.secretHash, Date.now());
  if (!consumed.ok) {
    const [code, message] = TOKEN_ERRORS[consumed.reason];
    if (ctx.onTokenRefused) ctx.onTokenRefused(consumed.reason);
    else ctx.logger.info({ tokenId: token.id, reason: consumed.reason }, 'enrollment refused');
    sendError(res, 401, code, message);
    return;
  }
  const tenant = consumed.token.tenant;
  const connectorId = `con_${randomBytes(8).toString('hex')}`;
  let issued: Awaited<ReturnType<typeof issueFromCsr>>;
  try {
    issued = await issueFromCsr(ctx.connectorCa, parsed.data.csr, {
      commonName: connectorId,
      uris: [connectorUri(tenant, connectorId)],
    });
  } catch (err) {
    sendError(res, 400, EnrollCodes.CSR_INVALID, `CSR rejected: ${(err as Error).message}`);
    return;
  }
  const binding = await checkConnectorBinding(ctx.store, tenant, parsed.data, issued.publicKeyFingerprint);
  if (!binding.bound && binding.invalid) {
    ctx.logger.info({ tenant, reason: binding.reason }, 'enrollment refused: invalid binding');
    sendError(res, 403, EnrollCodes.BINDING_INVALID, `connector binding refused: ${binding.reason}`);
    return;
  }
  await ctx.store.relay.addConnector({
    id: connectorId,
    tenant,
    keyFingerprint: issued.publicKeyFingerprint,
    certSerial: issued.serial,
    enrolledAt: Date.now(),
    boundCaFingerprint: binding.bound ? binding.caFingerprint : null,
  });
  if (!binding.bound) {
    // Enrolled, visible to the tenant as `unbound`, but without tunnels nor an audit key.
    ctx.logger.warn({ tenant, connectorId, reason: binding.reason }, 'connector enrolled UNBOUND');
  } else if (auditKeyPem !== undefined && ctx.registerAuditKey) {
    // The connector registers its key again on every start, so a failure here is not fatal.
    await ctx.registerAuditKey(tenant, auditKeyPem).catch((err: unknown) => {
      ctx.logger.warn({ tenant, connectorId, err: (err as Error).message }, 'audit key not registered');
    });
  }
  if (binding.bound)
    ctx.logger.info({ tenant, connectorId, pinnedCa: binding.pinnedNow }, 'connector enrolled');
  const body: EnrollResponse = {
    tenant,
    connectorId,
    certPem: issued.certPem,
    tenantHost: `${tenant}.${ctx.domain}`,
    bound: binding.bound,
  };
  sendJson(res, 200, body);
}
