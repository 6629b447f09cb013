/**
 * Pipes one agent connection through one tunnel stream, both ways, with backpressure (stream.pipe
 * pauses the source when the destination's buffer is full; HTTP/2 flow control does the same across
 * the tunnel). The bytes are TLS records the relay cannot read; it only counts them.
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
  /** The connector refused the stream before any byte reached the agent. */
  onRefused: (status: number | undefined) => void;
  /** Called once when both sides are closed. */
  onClose: () => void;
  /** The stream already answered 200 (the caller waited for it, e.g. a splice to another node). */
  responded?: boolean;
}

/** Wires `socket` and `stream` together and handles every error on both. */
export function pipeAgent(options: AgentPipeOptions): void {
  const { socket, stream, onBytes } = options;
  let bytesToAgent = 0;
  let closed = false;
  let socketClosed = socket.destroyed;
  let streamClosed = false;

  const maybeClose = (): void => {
    if (closed || !socketClosed || !streamClosed) return;
    closed = true;
    options.onClose();
  };
  let refused = false;
  const refuse = (status: number | undefined): void => {
    // 'error' and 'close' (and our own cancel) can each report the same refusal: count it once.
    if (refused) return;
    refused = true;
    options.onRefused(status);
    if (bytesToAgent === 0 && !socket.destroyed) {
      socket.end(tlsAlert(TlsAlert.internal_error));
      setTimeout(() => socket.destroy(), 1000).unref();
    } else socket.destroy();
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  };

  const toAgent = (): void => {
    stream.on('data', (chunk: Buffer) => {
      bytesToAgent += chunk.length;
      onBytes('to_agent', chunk);
    });
    stream.pipe(socket);
  };
  if (options.responded) toAgent();
  else
    stream.on('response', (headers) => {
      const status = headers[':status'];
      if (status !== 200) refuse(status);
      else toAgent();
    });
  stream.on('error', () => {
    if (bytesToAgent === 0) refuse(undefined);
    else socket.destroy();
  });
  stream.on('close', () => {
    streamClosed = true;
    // A reset stream, or one closed without a clean end (the tunnel died under it), ends the agent
    // connection too, at once: the agent must not wait for a TCP timeout to learn its call is lost.
    const reset = stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
    if (reset || !stream.readableEnded) {
      if (bytesToAgent === 0) refuse(undefined);
      else socket.destroy();
    }
    maybeClose();
  });

  socket.on('error', () => {
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  });
  socket.on('close', () => {
    socketClosed = true;
    if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    maybeClose();
  });

  onBytes('to_connector', options.firstBytes);
  stream.write(options.firstBytes);
  socket.on('data', (chunk: Buffer) => onBytes('to_connector', chunk));
  socket.pipe(stream);
  if (socket.destroyed) {
    socketClosed = true;
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}
