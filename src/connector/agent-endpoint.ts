/**
 * The tenant TLS termination of the connector: agents' TLS ends here, with the tenant key that never
 * leaves the connector. Connections arrive either as streams from the relay tunnel (`accept`, bytes still
 * encrypted end to end until here) or on a local TLS port (`listen`, for direct access and benchmarks).
 *
 * Every HTTP request is authenticated by its client certificate: it must chain to the tenant CA and its
 * serial must map to a non-revoked identity in the store (checked per request, so revocation takes effect
 * on the next request). Otherwise the answer is HTTP 401 with a JSON-RPC-shaped body naming the reason
 * (`AIRLOCK_IDENTITY_NO_CERT | _FOREIGN_CERT | _UNKNOWN | _REVOKED | _EXPIRED`). The identity is handed to
 * `handler` as `req.auth` (SDK `AuthInfo`, see src/mcp/agent-auth-info.ts). The `Host` header must name
 * the tenant (DNS-rebinding defence), a browser `Origin` must too, and header size, header and request
 * timeouts bound slow clients.
 *
 * @example
 * const agents = new AgentEndpoint({
 *   tls: { keyPem: pki.serverKeyPem, certPem: pki.serverCertPem, caPem: pki.caCertPem },
 *   identities: store.identities,
 *   handler: mcpEndpoint.nodeHandler,
 * });
 * tunnel.on('stream', (stream) => agents.accept(stream));
 * await agents.listen(8443, '127.0.0.1'); // optional direct port
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { type Logger, pino } from 'pino';
import type { IdentityLookup } from '../gateway/authenticate-stage.js';
import { JSONRPC_UNAUTHENTICATED } from '../gateway/authenticate-stage.js';
import { certificateInfo } from '../identity/pki.js';
import { authInfoForIdentity } from '../mcp/agent-auth-info.js';
import { writeRefusal } from '../mcp/json-rpc-http-error.js';
import { type PeerCertificate, readPeerCertificate, resolvePeerIdentity } from './agent-peer-identity.js';

/** Default time to receive all request headers (slowloris defence). */
export const DEFAULT_AGENT_HEADERS_TIMEOUT_MS = 10_000;
/** Default time to receive a whole request (headers and body). SSE responses are not limited by it. */
export const DEFAULT_AGENT_REQUEST_TIMEOUT_MS = 30_000;
/** Default idle time of a keep-alive connection between requests. */
export const DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Default largest request header block. */
export const DEFAULT_AGENT_MAX_HEADER_SIZE = 16 * 1024;
/** Default time to complete the TLS handshake. */
export const DEFAULT_AGENT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default most concurrent agent connections, per source (tunnel streams; local port). */
export const DEFAULT_AGENT_MAX_CONNECTIONS = 10_000;
/** Default interval at which open connections are re-checked against the store (revocation ends them). */
export const DEFAULT_AGENT_REVALIDATE_INTERVAL_MS = 30_000;

export interface AgentEndpointLimits {
  /** Default {@link DEFAULT_AGENT_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS}. */
  keepAliveTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_MAX_HEADER_SIZE}. */
  maxHeaderSize?: number;
  /** Default {@link DEFAULT_AGENT_HANDSHAKE_TIMEOUT_MS}. */
  handshakeTimeoutMs?: number;
  /** Default {@link DEFAULT_AGENT_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /**
   * Default {@link DEFAULT_AGENT_REVALIDATE_INTERVAL_MS}. Every interval, the identity behind each open
   * connection is looked up again; connections of revoked or deleted identities are closed, which also
   * ends long-lived SSE streams. `0` disables (requests are still checked one by one).
   */
  revalidateIntervalMs?: number;
}

export interface AgentEndpointOptions {
  tls: {
    /** Tenant TLS private key (PEM); generated on the connector, never leaves it. */
    keyPem: string;
    /** Tenant TLS certificate (PEM), SAN = the tenant hostname. */
    certPem: string;
    /** Tenant CA certificate (PEM): the only issuer accepted for client certificates. */
    caPem: string;
  };
  /** Node handler for authenticated requests (e.g. `AgentMcpEndpoint.nodeHandler`). `req.auth` is set. */
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  /** Usually `store.identities`. */
  identities: IdentityLookup;
  /** Accepted `Host` names (port-agnostic, lowercase; IPv6 in brackets). Default: the DNS SANs of `tls.certPem`. */
  hostnames?: string[];
  limits?: AgentEndpointLimits;
  /** Default silent. */
  logger?: Logger;
}

export class AgentEndpoint {
  readonly #server: HttpsServer;
  readonly #identities: IdentityLookup;
  readonly #handler: AgentEndpointOptions['handler'];
  readonly #hostnames: Set<string>;
  readonly #maxConnections: number;
  readonly #log: Logger;
  readonly #peers = new WeakMap<TLSSocket, PeerCertificate>();
  /** Live TLS sockets → identity of their last authenticated request. */
  readonly #sockets = new Map<TLSSocket, { name: string; serial: string } | undefined>();
  readonly #accepted = new Set<Duplex>();
  readonly #revalidate: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: AgentEndpointOptions) {
    const limits = options.limits ?? {};
    this.#identities = options.identities;
    this.#handler = options.handler;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'agent-endpoint' });
    this.#maxConnections = limits.maxConnections ?? DEFAULT_AGENT_MAX_CONNECTIONS;
    const hostnames = options.hostnames ?? certificateInfo(options.tls.certPem).dnsNames;
    this.#hostnames = new Set(hostnames.map((h) => h.toLowerCase()));
    this.#server = createServer(
      {
        key: options.tls.keyPem,
        cert: options.tls.certPem,
        ca: options.tls.caPem,
        requestCert: true,
        rejectUnauthorized: false, // answer 401 with a reason instead of a bare handshake failure
        minVersion: 'TLSv1.2',
        ALPNProtocols: ['http/1.1'],
        handshakeTimeout: limits.handshakeTimeoutMs ?? DEFAULT_AGENT_HANDSHAKE_TIMEOUT_MS,
        maxHeaderSize: limits.maxHeaderSize ?? DEFAULT_AGENT_MAX_HEADER_SIZE,
        headersTimeout: limits.headersTimeoutMs ?? DEFAULT_AGENT_HEADERS_TIMEOUT_MS,
        requestTimeout: limits.requestTimeoutMs ?? DEFAULT_AGENT_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: limits.keepAliveTimeoutMs ?? DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS,
      },
      (req, res) => {
        this.#onRequest(req, res).catch((err: unknown) => {
          this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'agent request failed');
          if (!res.headersSent) {
            writeRefusal(res, {
              status: 500,
              code: -32603,
              airlock: 'AIRLOCK_INTERNAL',
              message: 'Internal error',
            });
          } else {
            res.destroy();
          }
        });
      },
    );
    this.#server.maxConnections = this.#maxConnections;
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      this.#sockets.set(socket, undefined);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('tlsClientError', (err) =>
      this.#log.debug({ err: err.message }, 'agent TLS handshake failed'),
    );
    const interval = limits.revalidateIntervalMs ?? DEFAULT_AGENT_REVALIDATE_INTERVAL_MS;
    if (interval > 0)
      this.#revalidate = setInterval(() => void this.#revalidateConnections(), interval).unref();
  }

  /**
   * Takes a byte stream carrying an agent's TLS connection (e.g. a tunnel stream from the relay) and
   * terminates TLS on it with the tenant key. Destroys the stream when closed or over the connection limit.
   */
  accept(stream: Duplex): void {
    if (this.#closed || this.#accepted.size >= this.#maxConnections) {
      stream.destroy();
      return;
    }
    this.#accepted.add(stream);
    stream.once('close', () => this.#accepted.delete(stream));
    stream.on('error', (err) => this.#log.debug({ err: err.message }, 'agent stream error'));
    this.#server.emit('connection', stream);
  }

  /**
   * Also serves agents on a local TLS port (direct access, benchmarks).
   *
   * @example
   * const { port } = await agents.listen(0, '127.0.0.1');
   */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Open TLS connections. */
  connectionCount(): number {
    return this.#sockets.size;
  }

  /** Destroys every connection whose last request was made by `identityName` (e.g. after revocation). */
  disconnect(identityName: string): number {
    let count = 0;
    for (const [socket, owner] of this.#sockets) {
      if (owner?.name === identityName) {
        socket.destroy();
        count++;
      }
    }
    return count;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#revalidate) clearInterval(this.#revalidate);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    for (const socket of this.#sockets.keys()) socket.destroy();
    for (const stream of this.#accepted) stream.destroy();
    await closed;
  }

  // ---------------------------------------------------------------------------------------------

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hostRefusal = this.#checkHost(req);
    if (hostRefusal) {
      writeRefusal(res, {
        status: 403,
        code: -32000,
        airlock: 'AIRLOCK_HOST_NOT_ALLOWED',
        message: hostRefusal,
      });
      return;
    }
    const socket = req.socket as TLSSocket;
    let peer = this.#peers.get(socket);
    if (!peer) {
      peer = readPeerCertificate(socket);
      this.#peers.set(socket, peer);
    }
    const result = await resolvePeerIdentity(peer, this.#identities);
    if (!result.ok) {
      this.#log.info({ reason: result.reason }, 'agent request refused');
      writeRefusal(res, {
        status: result.reason === 'AIRLOCK_IDENTITY_UNVERIFIABLE' ? 503 : 401,
        code: JSONRPC_UNAUTHENTICATED,
        airlock: result.reason,
        message: result.message,
      });
      return;
    }
    if (this.#sockets.has(socket))
      this.#sockets.set(socket, { name: result.identity.name, serial: result.identity.certSerial });
    (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfoForIdentity(result.identity);
    await this.#handler(req, res);
  }

  /** Closes connections whose identity was revoked or deleted since their last request. */
  async #revalidateConnections(): Promise<void> {
    const bySerial = new Map<string, TLSSocket[]>();
    for (const [socket, owner] of this.#sockets) {
      if (!owner) continue;
      const list = bySerial.get(owner.serial) ?? [];
      list.push(socket);
      bySerial.set(owner.serial, list);
    }
    for (const [serial, sockets] of bySerial) {
      let valid: boolean;
      try {
        const record = await this.#identities.getIdentityBySerial(serial);
        valid = record !== undefined && record.revokedAt === null;
      } catch {
        continue; // store unavailable: keep connections; each request is still checked
      }
      if (valid) continue;
      this.#log.info({ serial, connections: sockets.length }, 'closing connections of a revoked identity');
      for (const socket of sockets) socket.destroy();
    }
  }

  /** Returns a refusal message, or undefined when Host (and Origin, if any) name this tenant. */
  #checkHost(req: IncomingMessage): string | undefined {
    const host = hostnameOf(req.headers.host ? `https://${req.headers.host}` : undefined);
    if (!host || !this.#hostnames.has(host)) return `Host '${req.headers.host ?? ''}' is not served here`;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const originHost = hostnameOf(origin);
      if (!originHost || !this.#hostnames.has(originHost)) return `Origin '${origin}' is not allowed`;
    }
    return undefined;
  }
}

function hostnameOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
