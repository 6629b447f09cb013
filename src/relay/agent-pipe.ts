/**
 * Pipes one agent connection through one tunnel stream, both ways, with backpressure (stream.pipe
 * pauses the source when the destination's buffer is full; HTTP/2 flow control does the same across
 * the tunnel). The bytes are TLS records the relay cannot read; it only counts them.
 *
 * Until the connector's first byte reaches the agent, the bytes the agent sent are kept (at most
 * `maxReplayBytes`: the relay's ClientHello limit). A stream refused or lost in that window (a tunnel
 * the connector is draining answers 503; a GOAWAY refuses a stream it had not seen yet) is replayed on
 * another stream from `reroute`: the agent has only sent its ClientHello, which nobody answered, so
 * nothing is lost or repeated. Once a byte has reached the agent, a lost stream ends the agent's
 * connection. An agent that goes away first is neither replayed nor refused.
 */
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { TlsAlert, tlsAlert } from '../net/client-hello.js';
import type { ByteDirection } from './relay-metrics.js';

export interface AgentPipeOptions {
  /** The agent's side: its TCP socket, or a splice stream from another relay node. */
  socket: Duplex;
  stream: http2.ClientHttp2Stream;
  /** The ClientHello bytes already read from the socket; sent first. */
  firstBytes: Buffer;
  onBytes: (direction: ByteDirection, chunk: Buffer) => void;
  /** The connector refused the stream before any byte reached the agent (after every reroute). */
  onRefused: (status: number | undefined) => void;
  /** Called once when both sides are closed. */
  onClose: () => void;
  /** The stream already answered 200 (the caller waited for it, e.g. a splice to another node). */
  responded?: boolean;
  /** Another stream for this agent when one was refused before answering; undefined when none. */
  reroute?: () => http2.ClientHttp2Stream | undefined;
  /** The most agent bytes kept for a replay; an agent that sends more before any answer is not rerouted. */
  maxReplayBytes?: number;
}

/** Wires `socket` and `stream` together and handles every error on both. */
export function pipeAgent(options: AgentPipeOptions): void {
  new AgentPipe(options).start();
}

class AgentPipe {
  private stream: http2.ClientHttp2Stream;
  /** The agent's bytes while nothing has answered: what a reroute replays (undefined once answered or past the bound). */
  private replay: Buffer[] | undefined = [];
  private replayBytes = 0;
  private answered = false;
  private refused = false;
  private closed = false;
  private socketClosed: boolean;
  private streamClosed = false;

  constructor(private readonly options: AgentPipeOptions) {
    this.stream = options.stream;
    this.socketClosed = options.socket.destroyed;
  }

  start(): void {
    const { socket, firstBytes } = this.options;
    socket.on('error', () => cancel(this.stream));
    socket.on('close', () => {
      this.socketClosed = true;
      cancel(this.stream);
      this.maybeClose();
    });
    this.recordAgentBytes(firstBytes);
    this.attach(this.stream);
    socket.on('data', (chunk: Buffer) => this.recordAgentBytes(chunk));
    if (firstBytes.length > 0) this.stream.write(firstBytes);
    if (socket.destroyed) {
      this.socketClosed = true;
      cancel(this.stream);
    }
  }

  private attach(s: http2.ClientHttp2Stream): void {
    this.stream = s;
    if (!this.options.responded)
      s.on('response', (headers) => {
        const status = headers[':status'];
        if (status !== 200) this.lost(s, status);
      });
    s.on('data', (chunk: Buffer) => this.fromConnector(s, chunk));
    s.on('error', () => this.lost(s, undefined));
    s.on('close', () => this.streamClose(s));
    this.options.socket.pipe(s);
  }

  private fromConnector(s: http2.ClientHttp2Stream, chunk: Buffer): void {
    if (s !== this.stream || this.refused) return;
    this.options.onBytes('to_agent', chunk);
    if (this.answered) return;
    // The connector's first byte: from here on the two sides are simply piped.
    this.answered = true;
    this.replay = undefined;
    this.options.socket.write(chunk);
    s.pipe(this.options.socket);
  }

  private streamClose(s: http2.ClientHttp2Stream): void {
    if (s !== this.stream) return;
    // A reset stream, or one closed without a clean end (the tunnel died under it), ends the agent
    // connection too, at once: the agent must not wait for a TCP timeout to learn its call is lost.
    // So does a clean end before any answer (nothing reached the agent: it may go to another stream).
    const reset = s.rstCode !== undefined && s.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
    if (reset || !s.readableEnded || !this.answered) this.lost(s, undefined);
    if (s !== this.stream) return; // rerouted: the pipe goes on with the next stream
    this.streamClosed = true;
    this.maybeClose();
  }

  /** The current stream failed: before any answer the next stream gets the agent's bytes; after, the connection ends. */
  private lost(s: http2.ClientHttp2Stream, status: number | undefined): void {
    if (s !== this.stream || this.refused) return;
    const { socket } = this.options;
    // The agent went away first (its close cancels the stream): nothing to replay or refuse.
    if (socket.destroyed && !this.answered) return;
    if (this.answered) {
      socket.destroy();
      return;
    }
    socket.unpipe(s);
    cancel(s);
    const replay = this.replay;
    const next = replay ? this.options.reroute?.() : undefined;
    if (!next || !replay) {
      this.refuse(status);
      return;
    }
    this.attach(next);
    for (const chunk of replay) next.write(chunk);
  }

  private refuse(status: number | undefined): void {
    this.refused = true;
    this.options.onRefused(status);
    const { socket } = this.options;
    if (!socket.destroyed) {
      socket.end(tlsAlert(TlsAlert.internal_error));
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    cancel(this.stream);
  }

  private recordAgentBytes(chunk: Buffer): void {
    this.options.onBytes('to_connector', chunk);
    if (!this.replay || chunk.length === 0) return;
    this.replayBytes += chunk.length;
    if (this.replayBytes > (this.options.maxReplayBytes ?? 0)) this.replay = undefined;
    else this.replay.push(chunk);
  }

  private maybeClose(): void {
    if (this.closed || !this.socketClosed || !this.streamClosed) return;
    this.closed = true;
    this.options.onClose();
  }
}

function cancel(stream: http2.ClientHttp2Stream): void {
  if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
}
