/**
 * The agent-side local forwarder: a plain-HTTP listener on loopback for MCP clients that cannot do
 * mutual TLS or pin a CA (browsers' dev tools, CLI tools with a bare `fetch`, the conformance suite).
 * Each request is forwarded to the tenant URL over the pinned-TLS connection pool of
 * `createTenantFetch` (tenant CA pinned, the agent's client certificate presented):
 *
 * - method, path + query, headers (minus hop-by-hop ones) and the body are forwarded as they come,
 *   streaming both ways (SSE included, every event is written as soon as it arrives);
 * - the response status, headers (minus hop-by-hop ones) and body come back unchanged: no
 *   decompression, no buffering;
 * - when the client goes away, the request to the tenant is aborted;
 * - `Host`: the forwarder's own `host:port` becomes the tenant host; any other value is passed through
 *   unchanged. `Origin`: the forwarder's own origin becomes `https://<tenant host>`; others pass unchanged.
 *
 * Security: anyone who can open a socket to the forwarder acts with the agent's identity, so it listens
 * on loopback only, and it rejects (403) requests whose `Host` or `Origin` names anything but a loopback
 * host — the DNS rebinding protection the MCP specification asks of local HTTP servers. Pass
 * `allowedHostnames: 'any'` to turn that check off and forward foreign `Host`/`Origin` values to the
 * tenant as they are (a transparent forwarder, e.g. to test the tenant's own checks).
 *
 * @example
 * const forwarder = await startLocalForwarder(await loadTenantConnection(files), { port: 3333 });
 * // point any MCP client at forwarder.url, e.g. http://127.0.0.1:3333/mcp
 * await forwarder.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/node';
import pino, { type Logger } from 'pino';
import { request } from 'undici';
import { AirlockError } from '../errors/airlock-error.js';
import type { TenantConnection } from './tenant-connection.js';
import { createTenantFetch, type TenantFetch, type TenantFetchOptions, tenantUrl } from './tenant-fetch.js';

/** Listen address: loopback only. */
export const DEFAULT_FORWARDER_HOST = '127.0.0.1';
/** Listen port; `0` picks a free one. */
export const DEFAULT_FORWARDER_PORT = 0;
/** Hostnames accepted in `Host` and `Origin` (DNS rebinding protection). */
export const DEFAULT_FORWARDER_ALLOWED_HOSTNAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];
/**
 * Time allowed until the tenant's response headers arrive. Long, because a JSON (non-SSE) answer to a
 * tool call may wait in the tenant's human approval queue; the MCP client's own timeout usually ends a
 * request first. Same bound as the stdio bridge.
 */
export const DEFAULT_FORWARDER_HEADERS_TIMEOUT_MS = 15 * 60 * 1000;
/** Most client connections open at once; more are refused by the listener. */
export const DEFAULT_FORWARDER_MAX_CONNECTIONS = 1024;
/** Time allowed for a client to send the request headers. */
export const DEFAULT_FORWARDER_REQUEST_HEADERS_TIMEOUT_MS = 30_000;

/**
 * The forwarder cannot start or was misused.
 *
 * Codes: `AIRLOCK_AGENT_FORWARD_NOT_LOOPBACK` (listen address is not a loopback address),
 * `AIRLOCK_AGENT_FORWARD_LISTEN_FAILED` (port in use, permission denied).
 */
export class LocalForwarderError extends AirlockError {}

export interface LocalForwarderOptions {
  /** Loopback address to listen on (`127.0.0.1`, `::1`, `localhost`, any `127.x.y.z`). Default {@link DEFAULT_FORWARDER_HOST}. */
  host?: string;
  /** Port, `0` for any free one. Default {@link DEFAULT_FORWARDER_PORT}. */
  port?: number;
  /**
   * Hostnames accepted in `Host` / `Origin` (port-agnostic); others get 403. `'any'` turns the check
   * off and forwards foreign values unchanged. Default {@link DEFAULT_FORWARDER_ALLOWED_HOSTNAMES}.
   */
  allowedHostnames?: readonly string[] | 'any';
  /**
   * TLS and timeout options of the tenant connection pool. `headersTimeoutMs` defaults to
   * {@link DEFAULT_FORWARDER_HEADERS_TIMEOUT_MS} here; the rest as in `createTenantFetch`.
   */
  tls?: TenantFetchOptions;
  /** Default {@link DEFAULT_FORWARDER_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /** Default {@link DEFAULT_FORWARDER_REQUEST_HEADERS_TIMEOUT_MS}. */
  requestHeadersTimeoutMs?: number;
  /** Diagnostics. Default: silent. */
  logger?: Logger;
}

export interface LocalForwarder {
  /** The tenant URL's path on the forwarder, e.g. `http://127.0.0.1:3333/mcp`: give this to the MCP client. */
  readonly url: string;
  /** `http://127.0.0.1:3333` */
  readonly origin: string;
  readonly port: number;
  /** The pinned-TLS connection pool towards the tenant. */
  readonly tenantFetch: TenantFetch;
  /** Stops listening, aborts requests in flight and closes the tenant connections. Idempotent. */
  close(): Promise<void>;
}

/** RFC 9110 §7.6.1 connection-specific headers, plus the ones a forwarder must not repeat. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (LOOPBACK_NAMES.has(bare)) return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** `host:port` split, `[v6]:port` aware; port undefined when absent. */
function splitHostPort(value: string): { hostname: string; port: string | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(value.trim());
  return { hostname: (match?.[1] ?? value).toLowerCase(), port: match?.[2] || undefined };
}

/** Header names listed in `Connection` are hop-by-hop as well. */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    joined
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== ''),
  );
}

function refuse(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Why a tenant request failed, along the cause chain (undici wraps TLS and socket errors). */
function describeFailure(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${code}: ${e.message}` : e.message);
    e = e.cause;
  }
  return parts.join(' <- ') || String(err);
}

/** What forwarding one request needs: the tenant, its connection pool and the forwarder's own address. */
interface ForwardContext {
  target: URL;
  tenantFetch: TenantFetch;
  log: Logger;
  /** Requests to the tenant in flight, aborted on close. */
  inFlight: Set<AbortController>;
  /** The forwarder's own port, known once it listens. */
  own: { port: number };
  validHost: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  validOrigin: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
}

function isOwnHost(value: string, own: { port: number }): boolean {
  const { hostname, port } = splitHostPort(value);
  return isLoopbackHost(hostname) && port === String(own.port);
}

function isOwnOrigin(value: string, own: { port: number }): boolean {
  try {
    const origin = new URL(value);
    return origin.protocol === 'http:' && isOwnHost(origin.host, own);
  } catch {
    return false;
  }
}

/** The client's raw headers for the tenant: hop-by-hop ones dropped, the forwarder's own Host/Origin made the tenant's. */
function headersForTenant(req: IncomingMessage, ctx: ForwardContext): string[] {
  const dropped = connectionTokens(req.headers.connection);
  const headers: string[] = [];
  let sawHost = false;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    let value = req.rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped.has(lower)) continue;
    if (lower === 'host') {
      if (sawHost) continue;
      sawHost = true;
      value = isOwnHost(value, ctx.own) ? ctx.target.host : value;
    } else if (lower === 'origin' && isOwnOrigin(value, ctx.own)) {
      value = ctx.target.origin;
    }
    headers.push(name, value);
  }
  if (!sawHost) headers.push('host', ctx.target.host);
  return headers;
}

/** The tenant's response headers for the client, hop-by-hop ones dropped. */
function headersForClient(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const dropped = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || dropped.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Forwards one request to the tenant and streams the answer back; aborts when the client goes away. */
async function forwardRequest(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext): Promise<void> {
  if (ctx.validHost && !ctx.validHost(req, res)) return;
  if (ctx.validOrigin && !ctx.validOrigin(req, res)) return;
  const { log } = ctx;
  const path = req.url ?? '/';
  if (!path.startsWith('/')) {
    refuse(res, 400, 'Bad Request: the forwarder takes origin-form request targets (/path), not a proxy URL');
    return;
  }
  const headers = headersForTenant(req, ctx);
  const abort = new AbortController();
  ctx.inFlight.add(abort);
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort(new Error('client went away'));
  };
  res.once('close', onClose);
  // HTTP/1.1: a request has a body exactly when it announces one.
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  try {
    const upstream = await request(new URL(path, ctx.target.origin), {
      dispatcher: ctx.tenantFetch.dispatcher,
      method: (req.method ?? 'GET') as 'GET',
      headers,
      body: hasBody ? req : null,
      signal: abort.signal,
    });
    res.writeHead(upstream.statusCode, headersForClient(upstream.headers));
    res.flushHeaders();
    log.debug({ method: req.method, path, status: upstream.statusCode }, 'forwarded');
    await pipeline(upstream.body, res);
  } catch (err) {
    if (abort.signal.aborted) {
      log.debug({ method: req.method, path }, 'client went away, tenant request aborted');
      res.destroy();
      return;
    }
    log.warn({ method: req.method, path, err: describeFailure(err) }, 'tenant request failed');
    refuse(res, 502, `Bad Gateway: the tenant could not be reached (${describeFailure(err)})`);
  } finally {
    res.off('close', onClose);
    ctx.inFlight.delete(abort);
  }
}

/** Listens; on failure closes the tenant pool and rejects with `AIRLOCK_AGENT_FORWARD_LISTEN_FAILED`. */
async function listenOrFail(
  server: Server,
  host: string,
  port: number,
  tenantFetch: TenantFetch,
): Promise<void> {
  server.listen(port, host);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.once('listening', () => {
        server.off('error', onError);
        resolve();
      });
    });
  } catch (cause) {
    await tenantFetch.close();
    throw new LocalForwarderError(
      'AIRLOCK_AGENT_FORWARD_LISTEN_FAILED',
      `Cannot listen on ${host}:${port}: ${describeFailure(cause)}`,
      { cause },
    );
  }
}

/**
 * Starts the forwarder for `conn`. Rejects when `host` is not a loopback address or the port is taken.
 *
 * @example
 * const { url, close } = await startLocalForwarder(conn);            // http://127.0.0.1:<free port>/mcp
 * const strict = await startLocalForwarder(conn, { port: 3333, tls: { headersTimeoutMs: 60_000 } });
 */
export async function startLocalForwarder(
  conn: TenantConnection,
  opts: LocalForwarderOptions = {},
): Promise<LocalForwarder> {
  const listenHost = opts.host ?? DEFAULT_FORWARDER_HOST;
  if (!isLoopbackHost(listenHost)) {
    throw new LocalForwarderError(
      'AIRLOCK_AGENT_FORWARD_NOT_LOOPBACK',
      `The forwarder lends the agent's identity to whoever connects: it listens on loopback only, not on "${listenHost}"`,
    );
  }
  const target = tenantUrl(conn);
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ part: 'forwarder' });
  const tenantFetch = createTenantFetch(conn, {
    ...opts.tls,
    headersTimeoutMs: opts.tls?.headersTimeoutMs ?? DEFAULT_FORWARDER_HEADERS_TIMEOUT_MS,
  });
  const allowed = opts.allowedHostnames ?? DEFAULT_FORWARDER_ALLOWED_HOSTNAMES;
  const ctx: ForwardContext = {
    target,
    tenantFetch,
    log,
    inFlight: new Set<AbortController>(),
    own: { port: 0 },
    validHost: allowed === 'any' ? undefined : hostHeaderValidation([...allowed]),
    validOrigin: allowed === 'any' ? undefined : originValidation([...allowed]),
  };

  const server: Server = createServer(
    {
      requestTimeout: 0,
      headersTimeout: opts.requestHeadersTimeoutMs ?? DEFAULT_FORWARDER_REQUEST_HEADERS_TIMEOUT_MS,
    },
    (req, res) => {
      void forwardRequest(req, res, ctx);
    },
  );
  server.maxConnections = opts.maxConnections ?? DEFAULT_FORWARDER_MAX_CONNECTIONS;
  await listenOrFail(server, listenHost, opts.port ?? DEFAULT_FORWARDER_PORT, tenantFetch);
  server.on('error', (err) => log.warn({ err: describeFailure(err) }, 'listener error'));
  const address = server.address() as AddressInfo;
  const port = address.port;
  ctx.own.port = port;
  const origin = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${port}`;
  log.info({ origin, tenant: target.origin }, 'forwarding');

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}${target.pathname}${target.search}`,
    origin,
    port,
    tenantFetch,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const abort of ctx.inFlight) abort.abort(new Error('forwarder closing'));
        server.closeAllConnections();
        await stopped;
        await tenantFetch.close();
      })();
      return closing;
    },
  };
}
