/**
 * The relay's end of one tunnel: an HTTP/2 *client* session over the connector's socket (TLS or
 * WebSocket). The relay asks for the hello, pings, and opens one stream per agent connection.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { startHeartbeat } from './heartbeat.js';
import {
  CLUSTER_PATH,
  type ClusterView,
  encodeRejection,
  HELLO_PATH,
  PEER_HEADER,
  parseTunnelHello,
  READY_PATH,
  SNI_HEADER,
  STREAM_PATH,
  type TunnelHello,
  type TunnelRejection,
} from './protocol.js';
import type { TunnelTransportKind } from './tunnel-dialer.js';

/** Bound on the hello body. */
const MAX_HELLO_BYTES = 4096;

export interface RelayTunnelInfo {
  tenant: string;
  connectorId: string;
  transport: TunnelTransportKind;
  remoteAddress: string;
}

export interface RelayTunnelOptions {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Settings the relay (h2 client) announces; the connector's own SETTINGS bound the streams we may open. */
  maxStreamsPerTunnel: number;
}

/**
 * Opens the relay-side HTTP/2 client session over `socket`.
 *
 * Events: `close` (once, with a reason string).
 */
export class RelayTunnel extends EventEmitter {
  readonly session: http2.ClientHttp2Session;
  readonly connectedAt = Date.now();
  hello: TunnelHello | undefined;
  activeStreams = 0;
  /** The connector sent GOAWAY (draining) or the relay is ending this tunnel: no new streams. */
  draining = false;
  private closed = false;
  private rejecting = false;
  private stopHeartbeat: (() => void) | undefined;

  constructor(
    readonly info: RelayTunnelInfo,
    private readonly socket: Duplex,
    private readonly options: RelayTunnelOptions,
  ) {
    super();
    this.session = http2.connect('http://airlock-tunnel', {
      createConnection: () => socket,
      settings: { enablePush: false, maxConcurrentStreams: options.maxStreamsPerTunnel },
    });
    this.session.on('error', () => this.onClosed('session error'));
    this.session.on('goaway', () => {
      this.draining = true;
      this.emit('draining');
    });
    this.session.on('close', () => this.onClosed('session closed'));
    socket.on('error', () => this.onClosed('socket error'));
    socket.on('close', () => this.onClosed('socket closed'));
    // The public listener allows half-open sockets (agents may half-close); a tunnel may not: when
    // the connector's side ends (process killed, FIN), the tunnel is gone now, not at the next heartbeat.
    socket.on('end', () => {
      socket.destroy();
      this.onClosed('connector closed the tunnel');
    });
  }

  get key(): string {
    return `${this.info.connectorId}#${this.hello?.slot ?? -1}`;
  }

  /** Asks the connector for its hello. Rejects when none arrives in time or it is malformed. */
  requestHello(timeoutMs: number): Promise<TunnelHello> {
    return new Promise((resolve, reject) => {
      let body = '';
      let settled = false;
      const settle = (err: Error | undefined, hello?: TunnelHello): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(hello!);
      };
      const timer = setTimeout(() => {
        settle(new Error(`no tunnel hello within ${timeoutMs} ms`));
        req.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      let req: http2.ClientHttp2Stream;
      try {
        req = this.session.request({ ':method': 'GET', ':path': HELLO_PATH });
      } catch (err) {
        settle(err as Error);
        return;
      }
      req.setEncoding('utf8');
      req.on('response', (headers) => {
        if (headers[':status'] !== 200) settle(new Error(`hello answered ${headers[':status']}`));
      });
      req.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_HELLO_BYTES) {
          settle(new Error('hello too large'));
          req.close(http2.constants.NGHTTP2_CANCEL);
        }
      });
      req.on('end', () => {
        const hello = parseTunnelHello(body);
        if (!hello) settle(new Error('malformed hello'));
        else {
          this.hello = hello;
          settle(undefined, hello);
        }
      });
      req.on('error', (err) => settle(err));
      req.on('close', () => settle(new Error('hello stream closed')));
    });
  }

  /** Tells the connector the tunnel is registered (it resolves its dial on this). */
  sendReady(): void {
    try {
      const req = this.session.request({ ':method': 'POST', ':path': READY_PATH }, { endStream: true });
      req.on('error', () => {});
      req.resume();
    } catch {
      // the session is already closing; its close event handles the rest
    }
  }

  /** The last cluster view sent on this tunnel (JSON), so that only changes are sent. */
  private sentView: string | undefined;

  /** Tells the connector which node it reached and which others exist (only when the view changed). */
  sendClusterView(view: ClusterView): void {
    const body = JSON.stringify(view);
    if (body === this.sentView || !this.hello || this.closed || this.session.closed) return;
    this.sentView = body;
    try {
      const req = this.session.request({
        ':method': 'POST',
        ':path': CLUSTER_PATH,
        'content-type': 'application/json',
      });
      req.on('error', () => {});
      req.end(body);
      req.resume();
    } catch {
      // the session is closing; the connector reconnects elsewhere
    }
  }

  /** Starts PING heartbeats; a missed acknowledgement destroys the tunnel. */
  startHeartbeat(): void {
    this.stopHeartbeat = startHeartbeat(this.session, {
      intervalMs: this.options.heartbeatIntervalMs,
      timeoutMs: this.options.heartbeatTimeoutMs,
      onDead: (reason) => this.destroy(`heartbeat: ${reason}`),
    });
  }

  /** True when a new agent stream may be opened on this tunnel. */
  get available(): boolean {
    if (this.closed || this.draining || this.session.closed || this.session.destroyed) return false;
    const peerLimit = this.session.remoteSettings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
    return this.activeStreams < Math.min(peerLimit, this.options.maxStreamsPerTunnel);
  }

  /** Opens one agent stream (request body = agent → connector, response body = connector → agent). */
  openStream(sni: string, peer: string): http2.ClientHttp2Stream {
    const stream = this.session.request(
      { ':method': 'POST', ':path': STREAM_PATH, [SNI_HEADER]: sni, [PEER_HEADER]: peer },
      { endStream: false },
    );
    this.activeStreams++;
    stream.once('close', () => {
      this.activeStreams--;
    });
    return stream;
  }

  /** Sends GOAWAY with a reason the connector can read, then tears the session down. */
  reject(rejection: TunnelRejection, code = http2.constants.NGHTTP2_INADEQUATE_SECURITY): void {
    if (this.closed || this.rejecting) return;
    this.draining = true;
    this.rejecting = true;
    try {
      this.session.goaway(code, 0, encodeRejection(rejection));
    } catch {
      // session already gone
    }
    // Give the GOAWAY frame a moment to leave, then close for sure.
    const timer = setTimeout(() => {
      this.socket.destroy();
      this.onClosed(rejection.code);
    }, 100);
    timer.unref();
    this.session.close();
  }

  /** Tears the tunnel down at once (in-flight agent streams are reset). */
  destroy(reason = 'destroyed'): void {
    if (!this.session.destroyed) this.session.destroy();
    this.socket.destroy();
    this.onClosed(reason);
  }

  private onClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.draining = true;
    this.stopHeartbeat?.();
    if (!this.rejecting) {
      if (!this.session.destroyed) this.session.destroy();
      this.socket.destroy();
    }
    this.emit('close', reason);
  }
}
