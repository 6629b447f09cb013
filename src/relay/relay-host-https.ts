/**
 * The relay host's HTTPS (after the relay terminated TLS for `relay.<domain>`): the router for
 * `POST /v1/enroll`, `GET /v1/connectors` (a bound connector lists its tenant's connectors), the audit
 * witness under `/v1/audit/` and, through `upgrade`, WebSocket tunnels (websocket-upgrade.ts).
 *
 * Only requests whose `Host` is the relay host (any port) and whose `Origin`, when present, is too are
 * served (DNS-rebinding defence; 403 `AIRLOCK_RELAY_HOST_NOT_ALLOWED`). Slow clients are cut by
 * per-connection deadlines (src/tunnel/http-connection-deadlines.ts).
 */
import http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { CONNECTORS_PATH } from '../tunnel/enrollment-protocol.js';
import { HttpConnectionDeadlines } from '../tunnel/http-connection-deadlines.js';
import { ENROLL_PATH } from '../tunnel/protocol.js';
import { createRelayAuditApi, isAuditWitnessPath, type RelayAuditApi } from './audit-witness-api.js';
import { authenticateConnector } from './connector-auth.js';
import { handleEnroll, sendError } from './enrollment-api.js';
import { hostCheck } from './host-header-check.js';
import { countRefusal, peerOf, type RelayContext } from './relay-context.js';
import { listTenantConnectors } from './tenant-connectors.js';

export interface RelayHostHttps {
  readonly server: http.Server;
  readonly deadlines: HttpConnectionDeadlines;
  readonly auditApi: RelayAuditApi;
  /** Refusal message for a request whose Host / Origin is not the relay host, else undefined. */
  readonly hostRefusal: (req: http.IncomingMessage) => string | undefined;
}

/** Creates the relay-host HTTPS server (fed TLS sockets by the relay-host TLS server). */
export function createRelayHostHttps(ctx: RelayContext): RelayHostHttps {
  const { limits, logger } = ctx;
  const server = http.createServer({
    headersTimeout: limits.relayHostHeadersTimeoutMs,
    requestTimeout: limits.relayHostRequestTimeoutMs,
  });
  const deadlines = new HttpConnectionDeadlines(server, {
    headersTimeoutMs: limits.relayHostHeadersTimeoutMs,
    requestTimeoutMs: limits.relayHostRequestTimeoutMs,
    firstRequestTimeoutMs: limits.relayHostFirstRequestTimeoutMs,
    onExpired: (socket, phase) =>
      logger.debug({ peer: peerOf(socket as TLSSocket), phase }, 'relay host connection closed: deadline'),
  });
  const auditApi = createRelayAuditApi({
    store: ctx.store,
    logger: logger.child({ part: 'audit-witness' }),
    ...(ctx.options.witnessKey ? { witnessKey: ctx.options.witnessKey } : {}),
  });
  const hostRefusal = hostCheck({ hostnames: [ctx.relayHost] });
  server.on('request', (req, res) => route(ctx, { auditApi, hostRefusal }, req, res));
  server.on('clientError', (_err, socket) => socket.destroy());
  return { server, deadlines, auditApi, hostRefusal };
}

function route(
  ctx: RelayContext,
  parts: Pick<RelayHostHttps, 'auditApi' | 'hostRefusal'>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const refusal = parts.hostRefusal(req);
  if (refusal !== undefined) {
    countRefusal(ctx, req.socket, 'relay_host_refused');
    sendError(res, 403, 'AIRLOCK_RELAY_HOST_NOT_ALLOWED', refusal);
    return;
  }
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (isAuditWitnessPath(path)) {
    void parts.auditApi.handle(req, res);
  } else if (req.method === 'POST' && path === ENROLL_PATH) {
    enroll(ctx, parts.auditApi, req, res);
  } else if (req.method === 'GET' && path === CONNECTORS_PATH) {
    listConnectors(ctx, req, res).catch((err: unknown) => failed(ctx, res, err, 'connector list'));
  } else {
    sendError(res, 404, 'AIRLOCK_RELAY_NOT_FOUND', `no route for ${req.method} ${path}`);
  }
}

function enroll(
  ctx: RelayContext,
  auditApi: RelayAuditApi,
  req: http.IncomingMessage,
  res: http.ServerResponse,
) {
  handleEnroll(req, res, {
    store: ctx.store,
    connectorCa: ctx.identity.connectorCa,
    domain: ctx.domain,
    logger: ctx.logger,
    maxBodyBytes: ctx.limits.maxEnrollBodyBytes,
    registerAuditKey: (tenant, pem) => auditApi.witness.registerKey(tenant, pem),
    onTokenRefused: () => countRefusal(ctx, req.socket, 'enrollment_refused'),
  }).catch((err: unknown) => failed(ctx, res, err, 'enrollment', 'AIRLOCK_ENROLL_INTERNAL'));
}

/** `GET /v1/connectors`: the tenant's connectors, for a bound connector of that tenant. */
async function listConnectors(ctx: RelayContext, req: http.IncomingMessage, res: http.ServerResponse) {
  const auth = await authenticateConnector(req.socket as TLSSocket, ctx.store);
  if (!auth.ok) {
    sendError(res, 403, auth.rejection.code, auth.rejection.message);
    return;
  }
  const connectors = await listTenantConnectors(ctx.store, ctx.registry, auth.tenant);
  const text = JSON.stringify({ tenant: auth.tenant, connectors });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function failed(
  ctx: RelayContext,
  res: http.ServerResponse,
  err: unknown,
  what: string,
  code = 'AIRLOCK_RELAY_INTERNAL',
) {
  ctx.logger.error({ err: (err as Error).message }, `${what} failed`);
  if (!res.headersSent) sendError(res, 500, code, `${what} failed on the relay`);
  else res.destroy();
}
