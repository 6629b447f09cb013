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
import type { Duplex } from 'node:stream';
import { type Logger, pino } from 'pino';
import { TunnelError } from '../errors/airlock-error.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, startHeartbeat } from './heartbeat.js';
import {
  CLUSTER_PATH,
  type ClusterView,
  decodeRejection,
  HELLO_PATH,
  MAX_CLUSTER_VIEW_BYTES,
  PEER_HEADER,
  parseClusterView,
  READY_PATH,
  SNI_HEADER,
  STREAM_PATH,
  TUNNEL_PROTOCOL_VERSION,
  TunnelCodes,
  type TunnelHello,
} from './protocol.js';
import {
  type RelayDialOptions,
  relayDialer,
  type TunnelDialer,
  type TunnelTransportKind,
  tunnelError,
} from './tunnel-dialer.js';

export {
  DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS,
  DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD,
  parseRelayUrl,
  type RelayAddress,
  type TunnelTransportKind,
} from './tunnel-dialer.js';

/** Time the relay has to ask for the hello and confirm the tunnel once the connection is up. */
export const DEFAULT_TUNNEL_HELLO_TIMEOUT_MS = 10_000;
/** Concurrent agent streams the connector accepts per tunnel (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
export const DEFAULT_TUNNEL_MAX_CONCURRENT_STREAMS = 1000;
/** Draining a tunnel waits at most this long for the PING round trip between its two GOAWAY frames. */
export const DEFAULT_GOAWAY_ROUND_TRIP_MS = 1_000;

export interface TunnelStreamMeta {
  /** The host name the agent asked for (its SNI). */
  sni: string;
  /** The agent's address as the relay saw it (`ip:port`). */
  peer: string;
  tunnelSlot: number;
  /** The tunnel the stream came over (its `draining` event lets the agent side close keep-alives). */
  tunnel: TunnelConnection;
}

export interface TunnelClientOptions extends RelayDialOptions {
  connectorId: string;
  slot?: number;
  /** Opens the tunnel's byte stream instead of dialing `relayUrl` (e.g. `memoryTunnelDialer` in tests). */
  dialer?: TunnelDialer;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  connectTimeoutMs?: number;
  helloTimeoutMs?: number;
  maxConcurrentStreams?: number;
  websocketMaxPayload?: number;
  logger?: Logger;
  onStream: (stream: Duplex, meta: TunnelStreamMeta) => void;
}

/**
 * One live tunnel. `closed` resolves (never rejects) with the reason it ended.
 *
 * Events: `stream-open`, `stream-close` (active stream count changed), `cluster` ({@link ClusterView}:
 * a clustered relay said which node this tunnel is on and which others exist, or that it drains),
 * `draining` (once, when `drain` is called).
 */
export class TunnelConnection extends EventEmitter {
  readonly connectedAt = Date.now();
  /** The last cluster view the relay sent on this tunnel (clustered relays only). */
  clusterView: ClusterView | undefined;
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

  /**
   * True from the moment `drain` is called (before the GOAWAY round trip ends, while streams the relay
   * already opened are still served): agent connections on this tunnel should close once idle.
   */
  agentsDraining = false;

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
    // Two-step GOAWAY (RFC 9113 §6.8): first "no new streams" with the highest stream id, so that a
    // stream the relay opened meanwhile is still served; after a PING round trip every such stream
    // has arrived, and the final GOAWAY refuses nothing in flight.
    if (!this.agentsDraining) {
      this.agentsDraining = true;
      this.emit('draining');
    }
    if (timeoutMs > 0 && !this.draining && !this.session.destroyed) await this.announceGoaway(timeoutMs);
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

  private announceGoaway(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(timeoutMs, DEFAULT_GOAWAY_ROUND_TRIP_MS));
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      try {
        this.session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
        if (!this.session.ping(done)) done();
      } catch {
        done();
      }
    });
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
  const dialer = options.dialer ?? relayDialer(options);
  const transport = dialer.transport;
  const slot = options.slot ?? 0;
  const logger = options.logger ?? pino({ level: 'silent' });
  const duplex = await dialer.dial();
  duplex.on('error', (err) => logger.debug({ slot, err: err.message }, 'tunnel transport error'));

  const session = http2.performServerHandshake(duplex, {
    settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_TUNNEL_MAX_CONCURRENT_STREAMS },
  });
  const tunnel = new TunnelConnection(slot, transport, session, duplex);
  return untilRelayReady({ tunnel, session, duplex, options, logger });
}

/** One tunnel being brought up: its connection, HTTP/2 session, transport and options. */
interface TunnelSetup {
  tunnel: TunnelConnection;
  session: http2.ServerHttp2Session;
  duplex: Duplex;
  options: TunnelClientOptions;
  logger: Logger;
}

/**
 * Serves the relay's requests on the session and resolves once it confirms the tunnel; rejects
 * when no hello is asked for in time or the session ends before that.
 */
function untilRelayReady(setup: TunnelSetup): Promise<TunnelConnection> {
  const { tunnel, session, options, logger } = setup;
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
    watchTunnelSession(setup, () => {
      if (!up) void tunnel.closed.then((reason) => settle(reason));
    });
    const onReady = (): void => {
      if (up) return;
      up = true;
      logger.info({ slot: tunnel.slot, transport: tunnel.transport }, 'tunnel up');
      settle();
    };
    session.on('stream', (stream, headers) => answerRelayStream(stream, headers, setup, onReady));
  });
}

/**
 * Heartbeats on the session, and how it ends: a GOAWAY with the relay's reason, an error, or the
 * close that finishes the tunnel (then `onClose`).
 */
function watchTunnelSession(setup: TunnelSetup, onClose: () => void): void {
  const { tunnel, session, duplex, options, logger } = setup;
  const slot = tunnel.slot;
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
    onClose();
  });
}

/**
 * Answers one request of the relay: the hello, the ready confirmation, a cluster view, or an agent
 * stream (handed to `onStream`; refused with 503 while draining); anything else is 404.
 */
function answerRelayStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  setup: TunnelSetup,
  onReady: () => void,
): void {
  const { tunnel, options, logger } = setup;
  const slot = tunnel.slot;
  stream.on('error', (err) => logger.debug({ slot, err: err.message }, 'tunnel stream error'));
  const method = headers[':method'];
  const path = headers[':path'];
  if (method === 'GET' && path === HELLO_PATH) {
    const hello: TunnelHello = { connectorId: options.connectorId, slot, version: TUNNEL_PROTOCOL_VERSION };
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify(hello));
  } else if (method === 'POST' && path === READY_PATH) {
    stream.respond({ ':status': 204 }, { endStream: true });
    onReady();
  } else if (method === 'POST' && path === CLUSTER_PATH) {
    readClusterView(stream, (view) => {
      tunnel.clusterView = view;
      tunnel.emit('cluster', view);
    });
  } else if (method === 'POST' && path === STREAM_PATH) {
    acceptAgentStream(stream, headers, setup);
  } else {
    stream.respond({ ':status': 404 }, { endStream: true });
  }
}

function acceptAgentStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  { tunnel, options, logger }: TunnelSetup,
): void {
  if (tunnel.isDraining) {
    stream.respond({ ':status': 503 }, { endStream: true });
    return;
  }
  stream.respond({ ':status': 200 });
  tunnel.streamOpened(stream);
  const meta: TunnelStreamMeta = {
    sni: String(headers[SNI_HEADER] ?? ''),
    peer: String(headers[PEER_HEADER] ?? ''),
    tunnelSlot: tunnel.slot,
    tunnel,
  };
  try {
    options.onStream(stream, meta);
  } catch (err) {
    logger.error({ slot: tunnel.slot, err: (err as Error).message }, 'onStream failed');
    stream.destroy();
  }
}

/** Reads a bounded cluster view body, answers 204 (400 when it is not one), then hands it on. */
function readClusterView(stream: http2.ServerHttp2Stream, onView: (view: ClusterView) => void): void {
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    body += chunk;
    if (body.length > MAX_CLUSTER_VIEW_BYTES) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  stream.on('end', () => {
    const view = parseClusterView(body);
    if (!stream.headersSent) stream.respond({ ':status': view ? 204 : 400 }, { endStream: true });
    if (view) onView(view);
  });
}
