/**
 * The HTTP answer of one direct-path call (direct-calls.ts), written the way the SDK's per-request
 * exchange writes it: one JSON body when nothing else is sent first; an SSE stream (`event: message`
 * frames, `: keepalive` comments every `keepAliveMs`) once a notification must go out or the call is
 * held and the agent's connection must be kept alive. The agent closing its connection aborts `signal`.
 *
 * @example
 * const answer = new DirectAnswer(res, { keepAliveMs: 15_000 });
 * answer.streamNow(); // a held call: headers now, keep-alives until the result
 * answer.finish({ jsonrpc: '2.0', id, result }, 200);
 */
import type { ServerResponse } from 'node:http';

/** Default interval of SSE keep-alive comments on a streamed answer (the SDK's default: 15 s). */
export const DEFAULT_DIRECT_KEEP_ALIVE_MS = 15_000;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

export class DirectAnswer {
  readonly signal: AbortSignal;
  readonly #res: ServerResponse;
  readonly #keepAliveMs: number;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #streaming = false;
  #done = false;

  constructor(res: ServerResponse, options: { keepAliveMs?: number } = {}) {
    this.#res = res;
    this.#keepAliveMs = options.keepAliveMs ?? DEFAULT_DIRECT_KEEP_ALIVE_MS;
    this.signal = this.#abort.signal;
    res.once('close', () => {
      this.#stopKeepAlive();
      if (!this.#done) this.#abort.abort(new Error('The agent closed the connection'));
    });
  }

  /** Whether the answer is (now) an SSE stream. */
  get streaming(): boolean {
    return this.#streaming;
  }

  /** Sends the headers of an SSE answer now and keeps the connection alive until {@link finish}. */
  streamNow(): void {
    if (this.#streaming || this.#done || this.#res.headersSent) return;
    this.#streaming = true;
    this.#res.writeHead(200, SSE_HEADERS);
    this.#res.flushHeaders();
    if (this.#keepAliveMs > 0 && Number.isFinite(this.#keepAliveMs)) {
      this.#timer = setInterval(() => this.#res.write(': keepalive\n\n'), this.#keepAliveMs);
      this.#timer.unref();
    }
  }

  /** A message before the answer (a notification): the answer becomes a stream. */
  send(message: unknown): void {
    if (this.#done || this.signal.aborted) return;
    this.streamNow();
    this.#res.write(frame(message));
  }

  /** The final JSON-RPC response; `status` applies when the answer is not a stream yet. */
  finish(message: unknown, status: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopKeepAlive();
    if (this.signal.aborted) return;
    if (this.#streaming) {
      this.#res.end(frame(message));
      return;
    }
    const body = JSON.stringify(message);
    this.#res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    this.#res.end(body);
  }

  /**
   * The endpoint is closing before the answer: the call's signal aborts (its stages and the upstream
   * request stop) and the agent's connection is closed, as the SDK closes its own exchanges.
   */
  abandon(reason: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopKeepAlive();
    this.#abort.abort(reason);
    this.#res.destroy();
  }

  #stopKeepAlive(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function frame(message: unknown): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}
