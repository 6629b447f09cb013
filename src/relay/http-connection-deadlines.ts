/**
 * Deadlines for slow HTTP clients on servers that are fed connections by hand
 * (`server.emit('connection', socket)`), as the relay does after reading the ClientHello.
 *
 * Node enforces `headersTimeout` / `requestTimeout` only from a timer that `setupConnectionsTracking`
 * starts when the server emits `listening`, and checks every `connectionsCheckingInterval` (30 s by
 * default). A server that never listens never checks: {@link startConnectionChecks} starts it.
 * Node's checks also only cover a request that has begun: {@link FirstRequestDeadline} closes a
 * connection that finished TLS and then says nothing.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Default period of the header/request-timeout check (Node's own default is 30 s). */
export const DEFAULT_CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

const started = new WeakSet<Server>();

/**
 * Starts Node's header/request-timeout checker on a server that is never `listen()`ed. Call it before
 * the first connection is emitted (the checker's connection list is made by the same step). Runs once
 * per server; a later `listen()` re-runs Node's setup, which replaces the timer (never two).
 * `server.close()` stops it.
 *
 * @example
 * const https = http.createServer({ headersTimeout: 10_000, connectionsCheckingInterval: 1_000 });
 * startConnectionChecks(https);
 * tlsServer.on('secureConnection', (socket) => https.emit('connection', socket));
 */
export function startConnectionChecks(server: Server): void {
  if (started.has(server) || server.listening) return;
  started.add(server);
  server.emit('listening');
}

/**
 * Closes a connection whose first request does not arrive in time.
 *
 * @example
 * const deadline = new FirstRequestDeadline(10_000);
 * tlsServer.on('secureConnection', (socket) => { deadline.watch(socket); https.emit('connection', socket); });
 * https.on('request', (req) => deadline.seen(req.socket));
 */
export class FirstRequestDeadline {
  readonly #timers = new WeakMap<Duplex, NodeJS.Timeout>();

  /** `timeoutMs`: time to the first request's headers (`0` disables). `onExpired` runs before the close. */
  constructor(
    readonly timeoutMs: number,
    private readonly onExpired?: (socket: Duplex) => void,
  ) {}

  /** Starts the deadline of `socket`. */
  watch(socket: Duplex): void {
    if (this.timeoutMs <= 0) return;
    const timer = setTimeout(() => {
      this.#timers.delete(socket);
      this.onExpired?.(socket);
      socket.destroy();
    }, this.timeoutMs);
    timer.unref();
    this.#timers.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  }

  /** A request (or upgrade) arrived on `socket`: its deadline is met. */
  seen(socket: Duplex): void {
    const timer = this.#timers.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(socket);
  }
}
