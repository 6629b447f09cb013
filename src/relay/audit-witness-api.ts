/**
 * The relay's audit witness on the relay host's HTTPS (`/v1/audit/...`), for enrolled connectors
 * only: every request must carry a connector client certificate that `authenticateConnector`
 * accepts (issued by the relay's connector CA, enrolled, not revoked), and the tenant comes from
 * that certificate, exactly as for tunnels.
 *
 *   POST /v1/audit/key                  `{ publicKeyPem }` → 200 `{ tenant, keyId }` (idempotent)
 *   POST /v1/audit/checkpoints          a signed checkpoint of the connector's OWN tenant → 201 | 200
 *   GET  /v1/audit/checkpoints?tenant=  the connector's own tenant only → 200 `{ tenant, checkpoints }`
 *
 * Checkpoints are checked and stored by `createAuditWitness` (src/audit/witness-server.ts) in the
 * relay store's witness tables; the relay learns tree sizes, head hashes and times, never entries.
 * Errors: 401 no/unaccepted certificate, 403 another tenant / revoked / unknown connector,
 * 400/403/409/413 from the witness (see `WITNESS_REFUSAL_CODES`).
 *
 * @example
 * const api = createRelayAuditApi({ store, logger });
 * https.on('request', (req, res) => isAuditWitnessPath(path) ? api.handle(req, res) : other(req, res));
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import {
  type AuditWitness,
  createAuditWitness,
  DEFAULT_WITNESS_MAX_BODY_BYTES,
} from '../audit/witness-server.js';
import type { Store } from '../store/store.js';
import {
  AUDIT_KEY_PATH,
  AUDIT_WITNESS_PATH,
  type AuditKeyResponse,
  auditKeyRequestSchema,
} from '../tunnel/enrollment-protocol.js';
import { TunnelCodes } from '../tunnel/protocol.js';
import { authenticateConnector } from './connector-auth.js';
import { sendError } from './enrollment-api.js';

/** Error codes of the audit API itself (the witness adds `WITNESS_REFUSAL_CODES`). */
export const AuditApiCodes = {
  /** 401/403: no acceptable connector certificate. */
  UNAUTHENTICATED: 'AIRLOCK_AUDIT_API_UNAUTHENTICATED',
  /** 403: a connector tried to write or read another tenant's checkpoints. */
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
  /** Largest request body. Default `DEFAULT_WITNESS_MAX_BODY_BYTES` (4 KiB). */
  maxBodyBytes?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export interface RelayAuditApi {
  readonly witness: AuditWitness;
  /** Serves one request whose path starts with `/v1/audit/`. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** True for paths this API serves. */
export function isAuditWitnessPath(path: string): boolean {
  return path.startsWith(`${AUDIT_WITNESS_PATH}/`);
}

/** See the module comment. */
export function createRelayAuditApi(opts: RelayAuditApiOptions): RelayAuditApi {
  const maxBody = opts.maxBodyBytes ?? DEFAULT_WITNESS_MAX_BODY_BYTES;
  const witness = createAuditWitness({
    repository: opts.store.audit,
    basePath: AUDIT_WITNESS_PATH,
    maxBodyBytes: maxBody,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const log = opts.logger;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://relay.invalid');
    const path = url.pathname;
    const auth = await authenticateConnector(req.socket as TLSSocket, opts.store);
    if (!auth.ok) {
      const status = auth.rejection.code === TunnelCodes.CERT_MISSING ? 401 : 403;
      log.info({ code: auth.rejection.code, path }, 'audit witness request refused');
      sendError(res, status, AuditApiCodes.UNAUTHENTICATED, auth.rejection.message);
      return;
    }
    if (req.method === 'POST' && path === AUDIT_KEY_PATH) {
      const body = await readBody(req, maxBody);
      if (body === undefined) {
        sendError(res, 413, AuditApiCodes.TOO_LARGE, `request body exceeds ${maxBody} bytes`);
        return;
      }
      const parsed = auditKeyRequestSchema.safeParse(parseJson(body));
      if (!parsed.success) {
        sendError(res, 400, AuditApiCodes.BAD_REQUEST, 'body must be JSON { "publicKeyPem": "..." }');
        return;
      }
      let keyId: string;
      try {
        keyId = (await witness.registerKey(auth.tenant, parsed.data.publicKeyPem)).keyId;
      } catch (err) {
        sendError(res, 400, AuditApiCodes.BAD_REQUEST, (err as Error).message);
        return;
      }
      log.info({ tenant: auth.tenant, connectorId: auth.connectorId, keyId }, 'audit key registered');
      const answer: AuditKeyResponse = { tenant: auth.tenant, keyId };
      sendJson(res, 200, answer);
      return;
    }
    if (path !== `${AUDIT_WITNESS_PATH}/checkpoints`) {
      sendError(res, 404, AuditApiCodes.NOT_FOUND, `no route for ${req.method} ${path}`);
      return;
    }
    let body: string | undefined;
    if (req.method === 'POST') {
      body = await readBody(req, maxBody);
      if (body === undefined) {
        sendError(res, 413, AuditApiCodes.TOO_LARGE, `request body exceeds ${maxBody} bytes`);
        return;
      }
      const tenant = (parseJson(body) as { tenant?: unknown } | undefined)?.tenant;
      if (typeof tenant === 'string' && tenant !== auth.tenant) {
        log.warn({ tenant: auth.tenant, claimed: tenant }, 'checkpoint for another tenant refused');
        sendError(res, 403, AuditApiCodes.WRONG_TENANT, `this connector may only submit for ${auth.tenant}`);
        return;
      }
    } else if (req.method === 'GET') {
      const tenant = url.searchParams.get('tenant');
      if (tenant !== null && tenant !== auth.tenant) {
        sendError(res, 403, AuditApiCodes.WRONG_TENANT, `this connector may only read ${auth.tenant}`);
        return;
      }
    }
    const response = await witness.handle(
      new Request(url, {
        method: req.method ?? 'GET',
        headers: { 'content-type': 'application/json' },
        ...(body !== undefined ? { body } : {}),
      }),
    );
    const text = await response.text();
    res.writeHead(response.status, {
      'content-type': response.headers.get('content-type') ?? 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(response.headers.get('allow') ? { allow: response.headers.get('allow') ?? '' } : {}),
    });
    res.end(text);
  }

  return {
    witness,
    async handle(req, res) {
      try {
        await serve(req, res);
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

/** The body as text, or undefined when it exceeds `limit` bytes (the rest is drained). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
