/**
 * Deadlines for slow HTTP clients on servers that are fed connections by hand
 * (`server.emit('connection', socket)`): the relay-host HTTPS after the relay read the ClientHello, and
 * the connector's agent endpoint for streams arriving over a tunnel.
 *
 * Node enforces a server's `headersTimeout` / `requestTimeout` only from a periodic checker that it
 * starts when the server begins to listen; a server that is only fed connections never starts it. So
 * instead of relying on that internal step, these deadlines are plain per-connection timers, armed by
 * {@link HttpConnectionDeadlines.watch} when the connection is handed over:
 *
 * - **first request**: from the hand-over until the first request's headers are parsed
 *   (`firstRequestTimeoutMs`). A connection that says nothing, or dribbles its headers, is destroyed.
 * - **headers** (keep-alive): from the end of a response until the next request's headers are parsed,
 *   `keepAliveTimeoutMs + headersTimeoutMs` (the idle time Node allows, then the time to send headers).
 * - **request**: from the request's headers until its body is complete (`req.complete`):
 *   `requestTimeoutMs`. A response that takes long (SSE, a tool call) is not limited: only the
 *   client's upload is.
 * - An `upgrade` (WebSocket) clears both: the new protocol has its own liveness checks.
 *
 * The server's own `headersTimeout` / `requestTimeout` options stay set too: they keep applying to
 * connections the server accepts on a port of its own.
 *
 * @example
 * const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 15_000 });
 * const deadlines = new HttpConnectionDeadlines(server, { headersTimeoutMs: 10_000, requestTimeoutMs: 15_000 });
 * tlsServer.on('secureConnection', (socket) => { deadlines.watch(socket); server.emit('connection', socket); });
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Default idle time between requests (Node's own `keepAliveTimeout` default). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;

export type DeadlinePhase = 'first_request' | 'headers' | 'request';

export interface HttpDeadlineOptions {
  /** Time to receive a request's headers (keep-alive requests after the first). */
  headersTimeoutMs: number;
  /** Time from a request's headers to the end of its body. */
  requestTimeoutMs: number;
  /** Time from the hand-over to the first request's headers. Default `headersTimeoutMs`. */
  firstRequestTimeoutMs?: number;
  /** Idle time allowed between a response and the next request. Default {@link DEFAULT_KEEP_ALIVE_TIMEOUT_MS}. */
  keepAliveTimeoutMs?: number;
  /** Runs before a connection is destroyed for a missed deadline (e.g. a debug log line). */
  onExpired?: (socket: Duplex, phase: DeadlinePhase) => void;
}

export class HttpConnectionDeadlines {
  readonly #timers = new WeakMap<Duplex, { timer: NodeJS.Timeout; phase: DeadlinePhase }>();
  /** Connections handed over through `watch` (others, e.g. on a listening port, are Node's business). */
  readonly #watched = new WeakSet<Duplex>();
  readonly #options: HttpDeadlineOptions;

  /** Attaches to `server`'s `request` and `upgrade` events (run before other listeners). */
  constructor(server: Server, options: HttpDeadlineOptions) {
    this.#options = options;
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
      this.#onRequest(req, res),
    );
    server.prependListener('upgrade', (req: IncomingMessage) => this.#clear(req.socket));
  }

  /** Arms the first-request deadline of `socket`; call it when handing the connection to the server. */
  watch(socket: Duplex): void {
    const first = this.#options.firstRequestTimeoutMs ?? this.#options.headersTimeoutMs;
    this.#watched.add(socket);
    this.#arm(socket, first, 'first_request');
    socket.once('close', () => this.#clear(socket));
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    if (!this.#watched.has(socket)) return;
    this.#clear(socket);
    if (!req.complete) {
      this.#arm(socket, this.#options.requestTimeoutMs, 'request', () => !req.complete);
      req.once('end', () => this.#clear(socket, 'request'));
    }
    res.once('finish', () => {
      const idle = this.#options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
      if (!socket.destroyed) this.#arm(socket, idle + this.#options.headersTimeoutMs, 'headers');
    });
  }

  #arm(socket: Duplex, ms: number, phase: DeadlinePhase, stillLate: () => boolean = () => true): void {
    this.#clear(socket);
    if (ms <= 0) return;
    const timer = setTimeout(() => {
      this.#timers.delete(socket);
      if (!stillLate()) return;
      this.#options.onExpired?.(socket, phase);
      socket.destroy();
    }, ms);
    timer.unref();
    this.#timers.set(socket, { timer, phase });
  }

  /** Clears the deadline of `socket` (only when it is of `phase`, when given). */
  #clear(socket: Duplex, phase?: DeadlinePhase): void {
    const armed = this.#timers.get(socket);
    if (armed === undefined || (phase !== undefined && armed.phase !== phase)) return;
    clearTimeout(armed.timer);
    this.#timers.delete(socket);
  }
}
