/**
 * The relay's audit witness on the relay host's HTTPS (`/v1/audit/...`), for enrolled connectors
 * only: every request must carry a connector client certificate that `authenticateConnector`
 * accepts (issued by the relay's connector CA, enrolled, not revoked), and the tenant comes from
 * that certificate, exactly as for tunnels.
 *
 *   POST /v1/audit/key              `{ publicKeyPem, tenantCaPem, proof }` → 200 `{ tenant, keyId, witness }`
 *                                   (the key must be certified by the tenant CA pinned at the relay,
 *                                   see audit-key-pinning.ts; `witness` is the relay witness's vkey)
 *   POST /v1/audit/add-checkpoint   C2SP tlog-witness for the connector's OWN log (`airlock.audit/<tenant>`)
 *   GET  /v1/audit/checkpoint?origin=airlock.audit/<tenant>   the latest cosigned checkpoint
 *
 * The witness (src/audit/witness-server.ts) keeps, per tenant, the latest checkpoint it cosigned in
 * the relay store; it learns tree sizes and root hashes, never entries. Errors: 401 no/unaccepted
 * certificate, 403 another tenant / revoked / unknown connector / key not certified, then the
 * witness's own answers (400/403/404/409/422).
 *
 * @example
 * const api = createRelayAuditApi({ store, logger, witnessKey: await loadOrCreateAuditKey(dataDir) });
 * https.on('request', (req, res) => isAuditWitnessPath(path) ? api.handle(req, res) : other(req, res));
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import {
  type AuditSigningKey,
  auditKeyId,
  auditPublicKeyFromPem,
  generateAuditKey,
} from '../audit/audit-key.js';
import { auditOrigin } from '../audit/audit-signing.js';
import { formatVkey, NOTE_SIG_TYPE_COSIGNATURE_V1, type NoteSigner } from '../audit/signed-note.js';
import {
  type AuditWitness,
  createAuditWitness,
  DEFAULT_WITNESS_MAX_BODY_BYTES,
  DEFAULT_WITNESS_NAME,
  type WitnessRepository,
} from '../audit/witness-server.js';
import { readBoundedText } from '../net/bounded-body.js';
import type { Store } from '../store/store.js';
import { AUDIT_KEY_PATH, AUDIT_WITNESS_PATH } from '../tunnel/enrollment-protocol.js';
import { TunnelCodes } from '../tunnel/protocol.js';
import {
  AuditPinError,
  pinnedAuditKeyRequestSchema,
  registerPinnedAuditKey,
  trustedAuditKeys,
} from './audit-key-pinning.js';
import { authenticateConnector } from './connector-auth.js';
import { sendError } from './enrollment-api.js';

/** Error codes of the audit API itself (the witness answers in text, per tlog-witness). */
export const AuditApiCodes = {
  /** 401/403: no acceptable connector certificate. */
  UNAUTHENTICATED: 'AIRLOCK_AUDIT_API_UNAUTHENTICATED',
  /** 403: a connector tried to write or read another tenant's log. */
  WRONG_TENANT: 'AIRLOCK_AUDIT_API_WRONG_TENANT',
  /** 400: the body is not what the route expects. */
  BAD_REQUEST: 'AIRLOCK_AUDIT_API_BAD_REQUEST',
  /** 413: the body is too large. */
  TOO_LARGE: 'AIRLOCK_AUDIT_API_TOO_LARGE',
  NOT_FOUND: 'AIRLOCK_RELAY_NOT_FOUND',
} as const;

export interface RelayAuditApiOptions {
  store: Store;
  logger: Logger;
  /** The witness's cosigning key. Default: a new key per process (cosignatures then cannot be pinned across restarts). */
  witnessKey?: AuditSigningKey;
  /** Default `DEFAULT_WITNESS_NAME`. */
  witnessName?: string;
  /** Pin a tenant's CA with its first audit key registration. Default true; false needs `pinTenantAuditCa` first. */
  allowFirstUse?: boolean;
  /** Largest request body. Default `DEFAULT_WITNESS_MAX_BODY_BYTES` (8 KiB). */
  maxBodyBytes?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/** The witness, plus the enrollment-time key hook (which no longer makes a key trusted). */
export interface RelayAuditWitnessHandle extends AuditWitness {
  /**
   * Called at enrollment with the audit key the connector announces. It is NOT trusted: only a key
   * registered with a tenant CA proof (`POST /v1/audit/key`) is. Resolves with its key id.
   */
  registerKey(tenant: string, publicKeyPem: string): Promise<{ keyId: string }>;
}

export interface RelayAuditApi {
  readonly witness: RelayAuditWitnessHandle;
  /** The witness's verifier key (C2SP vkey, cosignature type). */
  readonly witnessVkey: string;
  /** Serves one request whose path starts with `/v1/audit/`. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** True for paths this API serves. */
export function isAuditWitnessPath(path: string): boolean {
  return path.startsWith(`${AUDIT_WITNESS_PATH}/`);
}

interface ApiCtx {
  opts: RelayAuditApiOptions;
  log: Logger;
  maxBody: number;
  witness: RelayAuditWitnessHandle;
  witnessVkey: string;
}

/** The tlog-witness over the relay store, trusting the tenants' pinned audit keys. */
function relayWitness(opts: RelayAuditApiOptions, log: Logger, maxBody: number) {
  if (!opts.witnessKey)
    log.warn('the audit witness has no persistent key: its cosignatures change at every restart');
  const key = opts.witnessKey ?? generateAuditKey();
  const signer: NoteSigner = {
    name: opts.witnessName ?? DEFAULT_WITNESS_NAME,
    publicKey: key.publicKey,
    privateKey: key.privateKey,
  };
  const prefix = auditOrigin('');
  const tlogWitness = createAuditWitness({
    repository: opts.store.audit as WitnessRepository,
    signer,
    trustedKeys: async (origin) =>
      origin.startsWith(prefix) ? trustedAuditKeys(opts.store, origin.slice(prefix.length)) : [],
    basePath: AUDIT_WITNESS_PATH,
    maxBodyBytes: maxBody,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const witness: RelayAuditWitnessHandle = {
    ...tlogWitness,
    async registerKey(tenant, publicKeyPem) {
      const keyId = auditKeyId(auditPublicKeyFromPem(publicKeyPem));
      log.info(
        { tenant, keyId },
        'audit key announced at enrollment (trusted only once certified by the tenant CA)',
      );
      return { keyId };
    },
  };
  return { witness, witnessVkey: formatVkey(signer, NOTE_SIG_TYPE_COSIGNATURE_V1) };
}

async function registerKey(
  c: ApiCtx,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: string,
  connectorId: string,
) {
  const body = await readBoundedText(req, c.maxBody, { drain: true });
  if (body === undefined)
    return sendError(res, 413, AuditApiCodes.TOO_LARGE, `request body exceeds ${c.maxBody} bytes`);
  const parsed = pinnedAuditKeyRequestSchema.safeParse(parseJson(body));
  if (!parsed.success) {
    return sendError(
      res,
      400,
      AuditApiCodes.BAD_REQUEST,
      'body must be JSON { publicKeyPem, tenantCaPem, proof }',
    );
  }
  try {
    const { keyId } = await registerPinnedAuditKey(c.opts.store, tenant, parsed.data, {
      ...(c.opts.allowFirstUse !== undefined ? { allowFirstUse: c.opts.allowFirstUse } : {}),
      ...(c.opts.now ? { now: c.opts.now() } : {}),
    });
    c.log.info({ tenant, connectorId, keyId }, 'audit key registered');
    sendJson(res, 200, { tenant, keyId, witness: c.witnessVkey });
  } catch (err) {
    if (!(err instanceof AuditPinError)) throw err;
    c.log.warn({ tenant, connectorId, code: err.code }, 'audit key registration refused');
    sendError(res, err.code === 'AIRLOCK_AUDIT_PIN_INVALID' ? 400 : 403, err.code, err.message);
  }
}

/** Checks the route and the tenant, then lets the witness answer (in text, per tlog-witness). */
async function forward(c: ApiCtx, req: IncomingMessage, res: ServerResponse, tenant: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://relay.invalid');
  const path = url.pathname;
  const own = auditOrigin(tenant);
  let body: string | undefined;
  if (req.method === 'POST' && path === `${AUDIT_WITNESS_PATH}/add-checkpoint`) {
    body = await readBoundedText(req, c.maxBody, { drain: true });
    if (body === undefined)
      return sendError(res, 413, AuditApiCodes.TOO_LARGE, `request body exceeds ${c.maxBody} bytes`);
    const origin = /^old [0-9]+\n(?:[^\n]+\n)*\n([^\n]*)\n/.exec(body)?.[1];
    if (origin !== undefined && origin !== own) {
      c.log.warn({ tenant, claimed: origin }, 'checkpoint for another log refused');
      return sendError(res, 403, AuditApiCodes.WRONG_TENANT, `this connector may only submit ${own}`);
    }
  } else if (req.method === 'GET' && path === `${AUDIT_WITNESS_PATH}/checkpoint`) {
    if (url.searchParams.get('origin') !== own) {
      return sendError(res, 403, AuditApiCodes.WRONG_TENANT, `this connector may only read ${own}`);
    }
  } else {
    return sendError(res, 404, AuditApiCodes.NOT_FOUND, `no route for ${req.method} ${path}`);
  }
  const response = await c.witness.handle(
    new Request(url, { method: req.method ?? 'GET', ...(body !== undefined ? { body } : {}) }),
  );
  const text = await response.text();
  res.writeHead(response.status, {
    'content-type': response.headers.get('content-type') ?? 'text/plain',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function serve(c: ApiCtx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const auth = await authenticateConnector(req.socket as TLSSocket, c.opts.store);
  if (!auth.ok) {
    const status = auth.rejection.code === TunnelCodes.CERT_MISSING ? 401 : 403;
    c.log.info({ code: auth.rejection.code, path: req.url }, 'audit witness request refused');
    sendError(res, status, AuditApiCodes.UNAUTHENTICATED, auth.rejection.message);
    return;
  }
  const path = new URL(req.url ?? '/', 'https://relay.invalid').pathname;
  if (req.method === 'POST' && path === AUDIT_KEY_PATH)
    return registerKey(c, req, res, auth.tenant, auth.connectorId);
  return forward(c, req, res, auth.tenant);
}

/** See the module comment. */
export function createRelayAuditApi(opts: RelayAuditApiOptions): RelayAuditApi {
  const maxBody = opts.maxBodyBytes ?? DEFAULT_WITNESS_MAX_BODY_BYTES;
  const log = opts.logger;
  const c: ApiCtx = { opts, log, maxBody, ...relayWitness(opts, log, maxBody) };
  return {
    witness: c.witness,
    witnessVkey: c.witnessVkey,
    async handle(req, res) {
      try {
        await serve(c, req, res);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'audit witness request failed');
        if (!res.headersSent) sendError(res, 500, 'AIRLOCK_RELAY_INTERNAL', 'the audit witness failed');
        else res.destroy();
      }
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
