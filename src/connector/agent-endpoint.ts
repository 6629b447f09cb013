/**
 * The tenant TLS termination of the connector: agents' TLS ends here, with the tenant key that never
 * leaves the connector. Connections arrive either as streams from the relay tunnel (`accept`, bytes still
 * encrypted end to end until here) or on a local TLS port (`listen`, for direct access and benchmarks).
 *
 * Every HTTP request is authenticated, per request:
 * - by its client certificate: it must chain to the tenant CA and its serial must map to a non-revoked
 *   identity in the store. Otherwise the answer is HTTP 401 with a JSON-RPC-shaped body naming the
 *   reason (`AIRLOCK_IDENTITY_NO_CERT | _FOREIGN_CERT | _UNKNOWN | _REVOKED | _EXPIRED`);
 * - or, with the `oauth` option and no client certificate, by an OAuth access token
 *   (`Authorization: Bearer <jwt>`, or `Authorization: DPoP <jwt>` + `DPoP: <proof>`), see
 *   `agent-bearer-auth.ts`: 401 / 403 with `WWW-Authenticate` (`resource_metadata`, `scope`), and the
 *   RFC 9728 metadata at `/.well-known/oauth-protected-resource` (and its path-suffixed form).
 *
 * With the `endUser` option, an `X-Airlock-End-User: <jwt>` header names the person the agent acts for
 * (see `agent-end-user.ts`). The identity (and end user) reach `handler` as `req.auth` (SDK `AuthInfo`,
 * see src/mcp/agent-auth-info.ts); the agent's own credential headers (`Authorization`, `DPoP`, the
 * end-user header) are removed from the request first, so nothing downstream can forward them.
 *
 * Revocation ends live connections too: open connections of an identity revoked in the store are closed
 * within `limits.revocationPollIntervalMs` (default 500 ms), which ends their SSE streams (see
 * `agent-connection-watch.ts`). The `Host` header must name the tenant (DNS-rebinding defence), a browser
 * `Origin` must too, and header size, header and request timeouts bound slow clients on both paths
 * (`accept` and `listen`): Node checks `headersTimeout` / `requestTimeout` only from a timer it starts
 * when a server emits `listening`, so the endpoint starts that timer itself at construction, every
 * `limits.connectionsCheckingIntervalMs` (default 1 s instead of Node's 30 s). A connection that
 * finishes TLS and then sends no request is closed after `limits.firstRequestTimeoutMs`.
 *
 * @example
 * const agents = new AgentEndpoint({
 *   tls: { keyPem: pki.serverKeyPem, certPem: pki.serverCertPem, caPem: pki.caCertPem },
 *   identities: store.identities,
 *   handler: mcpEndpoint.nodeHandler,
 *   oauth: { verifier, resource: 'https://acme.relay.example/mcp', authorizationServers: [issuer] },
 * });
 * tunnel.on('stream', (stream) => agents.accept(stream, tunnel)); // the tunnel: its drain closes keep-alives
 * await agents.listen(8443, '127.0.0.1'); // optional direct port
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { type Logger, pino } from 'pino';
import type { EndUser, GatewayIdentity } from '../gateway/gateway-context.js';
import { type IdentityLookup, JSONRPC_UNAUTHENTICATED } from '../gateway/stages/authenticate-stage.js';
import { certificateInfo } from '../identity/pki.js';
import { authInfoForIdentity } from '../mcp/agent-auth-info.js';
import { writeRefusal } from '../mcp/json-rpc-http-error.js';
import { HttpConnectionDeadlines } from '../tunnel/http-connection-deadlines.js';
import { AgentBearerAuth, type AgentOAuthOptions } from './agent-bearer-auth.js';
import {
  AgentConnectionWatch,
  type ConnectionCloseReason,
  DEFAULT_AGENT_REVALIDATE_INTERVAL_MS,
  DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS,
} from './agent-connection-watch.js';
import { closeAfterResponse, hostnameOf, writeBearerRefusal } from './agent-early-answers.js';
import { type AgentEndUserOptions, END_USER_HEADER, resolveEndUser } from './agent-end-user.js';
import {
  type AgentEndpointLimits,
  DEFAULT_AGENT_CONNECTIONS_CHECKING_INTERVAL_MS,
  DEFAULT_AGENT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_AGENT_HEADERS_TIMEOUT_MS,
  DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_AGENT_MAX_CONNECTIONS,
  DEFAULT_AGENT_MAX_HEADER_SIZE,
  DEFAULT_AGENT_REQUEST_TIMEOUT_MS,
} from './agent-endpoint-limits.js';
import { type PeerCertificate, readPeerCertificate, resolvePeerIdentity } from './agent-peer-identity.js';
import { agentSecureContext } from './agent-tls-context.js';
import { AgentTunnelDrain, type DrainingTunnel } from './agent-tunnel-drain.js';

export * from './agent-endpoint-limits.js';

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
  /**
   * Also accept OAuth access tokens from the customer's IdP on requests without a client certificate,
   * and serve RFC 9728 protected-resource metadata. Default: mTLS only.
   */
  oauth?: AgentOAuthOptions;
  /** Accept (or require) the end user's IdP token in `X-Airlock-End-User`. Default: not accepted (ignored). */
  endUser?: AgentEndUserOptions;
  /** Accepted `Host` names (port-agnostic, lowercase; IPv6 in brackets). Default: the DNS SANs of `tls.certPem`. */
  hostnames?: string[];
  limits?: AgentEndpointLimits;
  /**
   * Called once per identity whose open connections were closed because it was revoked, deleted or
   * expired (e.g. `(id) => mcp.closeSessionsOf(id.name)`).
   */
  onConnectionsClosed?: (identity: GatewayIdentity, reason: ConnectionCloseReason) => void;
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
  readonly #watch: AgentConnectionWatch;
  readonly #bearer: AgentBearerAuth | undefined;
  readonly #endUser: AgentEndUserOptions | undefined;
  readonly #strippedHeaders: Set<string>;
  readonly #accepted = new Set<Duplex>();
  readonly #tunnelDrain: AgentTunnelDrain;
  readonly #caPem: string;
  #closed = false;

  /** Throws `IdentityError` `AIRLOCK_TOKEN_CONFIG` / `AIRLOCK_RESOURCE_METADATA_INVALID` for a bad `oauth`. */
  constructor(options: AgentEndpointOptions) {
    const limits = options.limits ?? {};
    this.#identities = options.identities;
    this.#handler = options.handler;
    this.#caPem = options.tls.caPem;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'agent-endpoint' });
    this.#maxConnections = limits.maxConnections ?? DEFAULT_AGENT_MAX_CONNECTIONS;
    const headersTimeoutMs = limits.headersTimeoutMs ?? DEFAULT_AGENT_HEADERS_TIMEOUT_MS;
    const hostnames = options.hostnames ?? certificateInfo(options.tls.certPem).dnsNames;
    this.#hostnames = new Set(hostnames.map((h) => h.toLowerCase()));
    this.#bearer = options.oauth ? new AgentBearerAuth(options.oauth, options.identities) : undefined;
    this.#endUser = options.endUser;
    this.#strippedHeaders = new Set([
      'authorization',
      'dpop',
      END_USER_HEADER,
      (options.endUser?.header ?? END_USER_HEADER).toLowerCase(),
    ]);
    this.#server = createServer(
      {
        ...agentSecureContext(options.tls), // TLS 1.3 only, client certificates from the tenant CA
        requestCert: true,
        rejectUnauthorized: false, // answer 401 with a reason instead of a bare handshake failure
        ALPNProtocols: ['http/1.1'],
        handshakeTimeout: limits.handshakeTimeoutMs ?? DEFAULT_AGENT_HANDSHAKE_TIMEOUT_MS,
        maxHeaderSize: limits.maxHeaderSize ?? DEFAULT_AGENT_MAX_HEADER_SIZE,
        headersTimeout: headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs ?? DEFAULT_AGENT_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: limits.keepAliveTimeoutMs ?? DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS,
        connectionsCheckingInterval:
          limits.connectionsCheckingIntervalMs ?? DEFAULT_AGENT_CONNECTIONS_CHECKING_INTERVAL_MS,
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
    this.#tunnelDrain = new AgentTunnelDrain(this.#server);
    this.#watch = new AgentConnectionWatch({
      identities: options.identities,
      pollIntervalMs: limits.revocationPollIntervalMs ?? DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS,
      revalidateIntervalMs: limits.revalidateIntervalMs ?? DEFAULT_AGENT_REVALIDATE_INTERVAL_MS,
      ...(options.onConnectionsClosed ? { onClosed: options.onConnectionsClosed } : {}),
      logger: this.#log,
    });
    // Streams handed to accept() never make the server listen, so Node's periodic header/request-timeout
    // check would not cover them: per-connection timers do, on both paths.
    const deadlines = new HttpConnectionDeadlines(this.#server, {
      headersTimeoutMs,
      requestTimeoutMs: limits.requestTimeoutMs ?? DEFAULT_AGENT_REQUEST_TIMEOUT_MS,
      firstRequestTimeoutMs: limits.firstRequestTimeoutMs ?? headersTimeoutMs,
      keepAliveTimeoutMs: limits.keepAliveTimeoutMs ?? DEFAULT_AGENT_KEEP_ALIVE_TIMEOUT_MS,
      onExpired: (_socket, phase) => this.#log.debug({ phase }, 'agent connection closed: deadline missed'),
    });
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      this.#watch.track(socket);
      deadlines.watch(socket);
    });
    this.#server.on('tlsClientError', (err) =>
      this.#log.debug({ err: err.message }, 'agent TLS handshake failed'),
    );
  }

  /**
   * Takes a byte stream carrying an agent's TLS connection (e.g. a tunnel stream from the relay) and
   * terminates TLS on it with the tenant key. Destroys the stream when closed or over the connection limit.
   */
  accept(stream: Duplex, tunnel?: DrainingTunnel): void {
    if (this.#closed || this.#accepted.size >= this.#maxConnections) {
      stream.destroy();
      return;
    }
    if (tunnel) this.#tunnelDrain.adopt(stream, tunnel);
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

  /** New connections get `certificate` (e.g. a renewed ACME one); open ones keep theirs. Same CA, TLS 1.3. */
  setCertificate(certificate: { certPem: string; keyPem: string }): void {
    this.#server.setSecureContext(agentSecureContext({ ...certificate, caPem: this.#caPem }));
  }

  /** Open TLS connections. */
  connectionCount(): number {
    return this.#watch.size;
  }

  /** Destroys every connection whose last request was made by `identityName` (e.g. after revocation). */
  disconnect(identityName: string): number {
    return this.#watch.disconnect((owner) => owner.name === identityName);
  }

  /**
   * Runs one revocation poll now (what the timer does every `revocationPollIntervalMs`), e.g. right
   * after an admin revoked an identity through this process.
   */
  checkRevocations(): Promise<void> {
    return this.#watch.poll();
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    for (const socket of this.#watch.sockets()) socket.destroy();
    for (const stream of this.#accepted) stream.destroy();
    await closed;
  }

  // ---------------------------------------------------------------------------------------------

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hostRefusal = this.#checkHost(req);
    if (hostRefusal) {
      closeAfterResponse(res);
      writeRefusal(res, {
        status: 403,
        code: -32000,
        airlock: 'AIRLOCK_HOST_NOT_ALLOWED',
        message: hostRefusal,
      });
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (this.#bearer?.metadataPaths.has(path)) {
      this.#serveMetadata(req, res, this.#bearer);
      return;
    }
    const originRefusal = this.#checkOrigin(req);
    if (originRefusal) {
      closeAfterResponse(res);
      writeRefusal(res, {
        status: 403,
        code: -32000,
        airlock: 'AIRLOCK_HOST_NOT_ALLOWED',
        message: originRefusal,
      });
      return;
    }
    const identity = await this.#authenticate(req, res, path);
    if (!identity) return;
    let endUser: EndUser | undefined;
    if (this.#endUser) {
      const result = await resolveEndUser(req, this.#endUser);
      if (!result.ok) {
        this.#log.info({ reason: result.airlock }, 'agent request refused (end user)');
        closeAfterResponse(res);
        writeRefusal(res, {
          status: result.status,
          code: JSONRPC_UNAUTHENTICATED,
          airlock: result.airlock,
          message: result.message,
        });
        return;
      }
      endUser = result.endUser;
    }
    this.#watch.setOwner(req.socket, identity);
    this.#stripCredentials(req);
    (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfoForIdentity(identity, endUser);
    await this.#handler(req, res);
  }

  /** The request's identity, or undefined after writing the refusal. */
  async #authenticate(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<GatewayIdentity | undefined> {
    const socket = req.socket as TLSSocket;
    let peer = this.#peers.get(socket);
    if (!peer) {
      peer = readPeerCertificate(socket);
      this.#peers.set(socket, peer);
    }
    // A presented certificate decides (even when a token is sent too); without one, a token may.
    if (this.#bearer && !peer.present) {
      const result = await this.#bearer.authenticate(req, `https://${req.headers.host ?? ''}${path}`);
      if (result.ok) return result.identity;
      this.#log.info({ reason: result.refusal.airlock }, 'agent request refused (token)');
      closeAfterResponse(res);
      writeBearerRefusal(res, result.refusal);
      return undefined;
    }
    const result = await resolvePeerIdentity(peer, this.#identities);
    if (result.ok) return result.identity;
    this.#log.info({ reason: result.reason }, 'agent request refused');
    closeAfterResponse(res);
    writeRefusal(res, {
      status: result.reason === 'AIRLOCK_IDENTITY_UNVERIFIABLE' ? 503 : 401,
      code: JSONRPC_UNAUTHENTICATED,
      airlock: result.reason,
      message: result.message,
    });
    return undefined;
  }

  /** RFC 9728 metadata: public, cacheable, GET/HEAD only. */
  #serveMetadata(req: IncomingMessage, res: ServerResponse, bearer: AgentBearerAuth): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const body = JSON.stringify(bearer.metadata);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'public, max-age=300',
      'access-control-allow-origin': '*',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Removes the agent's own credentials from the request before anything downstream sees it. */
  #stripCredentials(req: IncomingMessage): void {
    for (const name of this.#strippedHeaders) delete req.headers[name];
    const raw = req.rawHeaders;
    for (let i = raw.length - 2; i >= 0; i -= 2) {
      if (this.#strippedHeaders.has((raw[i] ?? '').toLowerCase())) raw.splice(i, 2);
    }
  }

  /** Returns a refusal message, or undefined when Host names this tenant. */
  #checkHost(req: IncomingMessage): string | undefined {
    const host = hostnameOf(req.headers.host ? `https://${req.headers.host}` : undefined);
    if (!host || !this.#hostnames.has(host)) return `Host '${req.headers.host ?? ''}' is not served here`;
    return undefined;
  }

  /** Returns a refusal message, or undefined when there is no `Origin` or it names this tenant. */
  #checkOrigin(req: IncomingMessage): string | undefined {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const originHost = hostnameOf(origin);
      if (!originHost || !this.#hostnames.has(originHost)) return `Origin '${origin}' is not allowed`;
    }
    return undefined;
  }
}
