/**
 * Dials ONE tunnel from the connector to the relay and serves it.
 *
 * Transports: `tls` (TLS with ALPN `airlock-tunnel/1` straight to the relay port, or through an HTTP
 * CONNECT proxy) and `websocket` (`wss://<relay-host>/v1/tunnel`, through `HTTPS_PROXY` when set).
 * Both authenticate the relay with the pinned relay CA and the connector with its client
 * certificate. Over the connection the connector is the HTTP/2 *server*: the relay asks
 * `GET /_airlock/hello`, confirms with `POST /_airlock/ready` (or refuses with GOAWAY), then opens
 * `POST /_airlock/stream` per agent connection, handed to
 * `onStream` as a Duplex of raw agent bytes (the agent's TLS, terminated by the connector).
 *
 * @example
 * const tunnel = await dialTunnel({
 *   relayUrl: 'tls://relay.localhost:8443', relayCaPem, credential, connectorId, slot: 0,
 *   onStream: (stream) => tenantTlsServer.emit('connection', stream),
 * });
 * const reason = await tunnel.closed; // TunnelError: retryable or not
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { type Logger, pino } from 'pino';
import { createWebSocketStream, WebSocket } from 'ws';
import { TunnelError } from '../errors/airlock-error.js';
import type { CertifiedKey } from '../identity/pki.js';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  startHeartbeat,
} from '../tunnel/heartbeat.js';
import {
  decodeRejection,
  HELLO_PATH,
  isPermanentTunnelCode,
  PEER_HEADER,
  READY_PATH,
  SNI_HEADER,
  STREAM_PATH,
  TUNNEL_ALPN,
  TUNNEL_PROTOCOL_VERSION,
  TUNNEL_WEBSOCKET_PATH,
  TunnelCodes,
  type TunnelHello,
} from '../tunnel/protocol.js';
import { openProxyTunnel, resolveProxy } from './proxy-connect.js';

/** Time to reach the relay and finish TLS (and the WebSocket upgrade). */
export const DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS = 10_000;
/** Time the relay has to ask for the hello and confirm the tunnel once the connection is up. */
export const DEFAULT_TUNNEL_HELLO_TIMEOUT_MS = 10_000;
/** Concurrent agent streams the connector accepts per tunnel (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
export const DEFAULT_TUNNEL_MAX_CONCURRENT_STREAMS = 1000;
/** Largest WebSocket message accepted from the relay. */
export const DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD = 1024 * 1024;

export type TunnelTransportKind = 'tls' | 'websocket';

export interface TunnelStreamMeta {
  /** The host name the agent asked for (its SNI). */
  sni: string;
  /** The agent's address as the relay saw it (`ip:port`). */
  peer: string;
  tunnelSlot: number;
}

export interface TunnelClientOptions {
  /** `tls://relay-host:port` or `wss://relay-host:port`. */
  relayUrl: string;
  /** Dial this address instead of the relay host (SNI and certificate check stay the relay host). */
  connectTo?: { host: string; port: number };
  /** PEM of the relay CA to pin; omit to use the system roots (publicly trusted relay). */
  relayCaPem?: string;
  credential: CertifiedKey;
  connectorId: string;
  slot?: number;
  /** Overrides the transport implied by the URL scheme. */
  transport?: TunnelTransportKind;
  /** Proxy URL, or `false` for none; default from `HTTPS_PROXY`/`https_proxy` and `NO_PROXY`. */
  proxy?: string | false;
  env?: NodeJS.ProcessEnv;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  connectTimeoutMs?: number;
  helloTimeoutMs?: number;
  maxConcurrentStreams?: number;
  websocketMaxPayload?: number;
  logger?: Logger;
  onStream: (stream: Duplex, meta: TunnelStreamMeta) => void;
}

export interface RelayAddress {
  transport: TunnelTransportKind;
  host: string;
  port: number;
}

/**
 * Parses `tls://host:port`, `wss://host:port` (or `https://host:port`, treated as `wss`).
 *
 * @example
 * parseRelayUrl('wss://relay.example.com') // { transport: 'websocket', host: 'relay.example.com', port: 443 }
 */
export function parseRelayUrl(relayUrl: string): RelayAddress {
  let url: URL;
  try {
    url = new URL(relayUrl);
  } catch {
    throw new TunnelError(
      'AIRLOCK_TUNNEL_RELAY_URL',
      `relay URL "${relayUrl}" is not a URL (tls://host:port)`,
    );
  }
  const transport: TunnelTransportKind | undefined =
    url.protocol === 'tls:'
      ? 'tls'
      : url.protocol === 'wss:' || url.protocol === 'https:'
        ? 'websocket'
        : undefined;
  if (!transport || !url.hostname) {
    throw new TunnelError(
      'AIRLOCK_TUNNEL_RELAY_URL',
      `relay URL "${relayUrl}" must be tls://host:port or wss://host:port`,
    );
  }
  return {
    transport,
    host: url.hostname.replace(/^\[|\]$/g, '').toLowerCase(),
    port: Number(url.port || 443),
  };
}

const CERT_VERIFY_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function classifyConnectError(err: unknown, what: string): TunnelError {
  if (err instanceof TunnelError) return err;
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const message = (err as Error | undefined)?.message ?? String(err);
  if (CERT_VERIFY_ERRORS.has(code)) {
    return new TunnelError(
      TunnelCodes.RELAY_UNTRUSTED,
      `${what}: the relay certificate is not trusted (${code}); check the pinned relay CA and the relay URL`,
      { cause: err },
    );
  }
  return new TunnelError(TunnelCodes.CONNECT_FAILED, `${what}: ${message}`, { cause: err, retryable: true });
}

function tunnelError(code: string, message: string, cause?: unknown): TunnelError {
  return new TunnelError(code, message, { cause, retryable: !isPermanentTunnelCode(code) });
}

/** Connects the raw duplex for the chosen transport. */
async function connectTransport(
  options: TunnelClientOptions,
  address: RelayAddress,
  transport: TunnelTransportKind,
): Promise<Duplex> {
  const dial = options.connectTo ?? { host: address.host, port: address.port };
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS;
  const proxy = resolveProxy({ host: dial.host, port: dial.port, proxy: options.proxy, env: options.env });
  const what = `tunnel to ${address.host}:${address.port}${proxy ? ` via proxy ${new URL(proxy).host}` : ''}`;
  const tlsOptions = {
    servername: address.host,
    ca: options.relayCaPem,
    key: options.credential.keyPem,
    cert: options.credential.certPem,
    minVersion: 'TLSv1.2' as const,
  };
  if (transport === 'tls') {
    const raw: Socket | undefined = proxy
      ? await openProxyTunnel(proxy, dial, { timeoutMs }).catch((err: unknown) => {
          throw classifyConnectError(err, what);
        })
      : undefined;
    return new Promise<Duplex>((resolve, reject) => {
      const socket = tls.connect({
        ...tlsOptions,
        ...(raw ? { socket: raw } : { host: dial.host, port: dial.port }),
        ALPNProtocols: [TUNNEL_ALPN],
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new TunnelError(TunnelCodes.CONNECT_FAILED, `${what}: timed out after ${timeoutMs} ms`, {
            retryable: true,
          }),
        );
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(classifyConnectError(err, what));
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        if (socket.alpnProtocol !== TUNNEL_ALPN) {
          socket.destroy();
          reject(tunnelError(TunnelCodes.PROTOCOL, `${what}: the relay did not accept ALPN ${TUNNEL_ALPN}`));
          return;
        }
        resolve(socket);
      });
    });
  }
  const hostInUrl = dial.host.includes(':') ? `[${dial.host}]` : dial.host;
  const ws = new WebSocket(`wss://${hostInUrl}:${dial.port}${TUNNEL_WEBSOCKET_PATH}`, {
    ...tlsOptions,
    headers: { host: `${address.host}:${address.port}` },
    agent: proxy ? new HttpsProxyAgent(proxy) : undefined,
    handshakeTimeout: timeoutMs,
    maxPayload: options.websocketMaxPayload ?? DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD,
    perMessageDeflate: false,
  });
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const fail = (err: TunnelError): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    ws.on('error', (err) => fail(classifyConnectError(err, what)));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('end', () => {
        const rejection = decodeRejection(body);
        fail(
          rejection
            ? tunnelError(rejection.code, `${what}: relay refused the tunnel: ${rejection.message}`)
            : new TunnelError(
                TunnelCodes.CONNECT_FAILED,
                `${what}: HTTP ${res.statusCode} on WebSocket upgrade`,
                {
                  retryable: true,
                },
              ),
        );
        ws.terminate();
      });
      res.on('error', () =>
        fail(new TunnelError(TunnelCodes.CONNECT_FAILED, `${what}: upgrade failed`, { retryable: true })),
      );
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      const duplex = createWebSocketStream(ws);
      resolve(duplex);
    });
  });
}

/**
 * One live tunnel. `closed` resolves (never rejects) with the reason it ended.
 *
 * Events: `stream-open`, `stream-close` (active stream count changed).
 */
export class TunnelConnection extends EventEmitter {
  readonly connectedAt = Date.now();
  readonly closed: Promise<TunnelError>;
  private active = 0;
  private draining = false;
  private reason: TunnelError | undefined;
  private resolveClosed!: (reason: TunnelError) => void;

  constructor(
    readonly slot: number,
    readonly transport: TunnelTransportKind,
    private readonly session: http2.ServerHttp2Session,
    private readonly duplex: Duplex,
  ) {
    super();
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  get activeStreams(): number {
    return this.active;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** @internal */
  streamOpened(stream: http2.ServerHttp2Stream): void {
    this.active++;
    this.emit('stream-open');
    stream.once('close', () => {
      this.active--;
      this.emit('stream-close');
    });
  }

  /** @internal first reason wins */
  setReason(reason: TunnelError): void {
    this.reason ??= reason;
  }

  /** @internal */
  finish(): void {
    this.resolveClosed(
      this.reason ??
        new TunnelError(TunnelCodes.CLOSED, 'tunnel closed by the relay or the network', { retryable: true }),
    );
  }

  /**
   * Stops accepting new agent streams (HTTP/2 GOAWAY: the relay routes elsewhere), waits for the
   * in-flight ones up to `timeoutMs`, then closes.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.setReason(
      new TunnelError(TunnelCodes.CLOSED, 'tunnel drained by the connector', { retryable: true }),
    );
    if (this.session.destroyed) return;
    const done = new Promise<void>((resolve) => {
      if (this.session.closed && this.session.destroyed) resolve();
      this.session.once('close', () => resolve());
    });
    try {
      this.session.close();
    } catch {
      // already closing
    }
    const timer = setTimeout(() => this.destroy(), timeoutMs);
    timer.unref();
    await done;
    clearTimeout(timer);
    this.duplex.destroy();
  }

  /** Closes at once; in-flight streams are reset. */
  destroy(reason?: TunnelError): void {
    if (reason) this.setReason(reason);
    if (!this.session.destroyed) this.session.destroy();
    this.duplex.destroy();
  }
}

/**
 * Dials one tunnel and resolves when the relay has accepted and registered it (`/_airlock/ready`).
 * Rejects with a `TunnelError` whose `retryable` says whether trying again can help.
 */
export async function dialTunnel(options: TunnelClientOptions): Promise<TunnelConnection> {
  const address = parseRelayUrl(options.relayUrl);
  const transport = options.transport ?? address.transport;
  const slot = options.slot ?? 0;
  const logger = options.logger ?? pino({ level: 'silent' });
  const duplex = await connectTransport(options, address, transport);
  duplex.on('error', (err) => logger.debug({ slot, err: err.message }, 'tunnel transport error'));

  const session = http2.performServerHandshake(duplex, {
    settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_TUNNEL_MAX_CONCURRENT_STREAMS },
  });
  const tunnel = new TunnelConnection(slot, transport, session, duplex);
  const hello: TunnelHello = { connectorId: options.connectorId, slot, version: TUNNEL_PROTOCOL_VERSION };
  const helloTimeoutMs = options.helloTimeoutMs ?? DEFAULT_TUNNEL_HELLO_TIMEOUT_MS;

  return new Promise<TunnelConnection>((resolve, reject) => {
    let up = false;
    let settled = false;
    const settle = (err?: TunnelError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(helloTimer);
      if (err) reject(err);
      else resolve(tunnel);
    };
    const helloTimer = setTimeout(() => {
      const err = tunnelError(
        TunnelCodes.PROTOCOL,
        `the relay sent no tunnel hello within ${helloTimeoutMs} ms`,
      );
      tunnel.destroy(err);
      settle(err);
    }, helloTimeoutMs);

    const stopHeartbeat = startHeartbeat(session, {
      intervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      timeoutMs: options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      onDead: (why) => {
        logger.warn({ slot, why }, 'tunnel heartbeat failed');
        tunnel.destroy(tunnelError(TunnelCodes.HEARTBEAT_TIMEOUT, `tunnel heartbeat failed: ${why}`));
      },
    });

    session.on('goaway', (_code: number, _last: number, data?: Buffer) => {
      const rejection = decodeRejection(data);
      if (rejection) {
        logger.info({ slot, code: rejection.code }, 'relay ended the tunnel');
        tunnel.setReason(tunnelError(rejection.code, `relay ended the tunnel: ${rejection.message}`));
      }
    });
    session.on('error', (err) => {
      tunnel.setReason(tunnelError(TunnelCodes.CLOSED, `tunnel failed: ${err.message}`, err));
    });
    session.on('close', () => {
      stopHeartbeat();
      duplex.destroy();
      tunnel.finish();
      if (!up) void tunnel.closed.then((reason) => settle(reason));
    });

    session.on('stream', (stream, headers) => {
      stream.on('error', (err) => logger.debug({ slot, err: err.message }, 'tunnel stream error'));
      const method = headers[':method'];
      const path = headers[':path'];
      if (method === 'GET' && path === HELLO_PATH) {
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end(JSON.stringify(hello));
        return;
      }
      if (method === 'POST' && path === READY_PATH) {
        stream.respond({ ':status': 204 }, { endStream: true });
        if (!up) {
          up = true;
          logger.info({ slot, transport }, 'tunnel up');
          settle();
        }
        return;
      }
      if (method === 'POST' && path === STREAM_PATH) {
        if (tunnel.isDraining) {
          stream.respond({ ':status': 503 }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200 });
        tunnel.streamOpened(stream);
        const meta: TunnelStreamMeta = {
          sni: String(headers[SNI_HEADER] ?? ''),
          peer: String(headers[PEER_HEADER] ?? ''),
          tunnelSlot: slot,
        };
        try {
          options.onStream(stream, meta);
        } catch (err) {
          logger.error({ slot, err: (err as Error).message }, 'onStream failed');
          stream.destroy();
        }
        return;
      }
      stream.respond({ ':status': 404 }, { endStream: true });
    });
  });
}
