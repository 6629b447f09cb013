/**
 * Reads the ClientHello off a fresh socket without consuming it for good: the caller gets every
 * byte read so far and either replays them into a local TLS server (`socket.unshift`) or forwards
 * them, unchanged, to a tenant's tunnel.
 */
import type { Duplex } from 'node:stream';
import { type ClientHelloResult, DEFAULT_MAX_CLIENT_HELLO_BYTES, parseClientHello } from './client-hello.js';

/** Default time a new connection has to send its complete ClientHello. */
export const DEFAULT_CLIENT_HELLO_TIMEOUT_MS = 5000;

export type ReadClientHelloResult =
  | { kind: 'ok'; sni?: string; alpn?: string[]; bytes: Buffer }
  | { kind: 'invalid'; reason: string; bytes: Buffer }
  | { kind: 'timeout'; bytes: Buffer }
  | { kind: 'closed'; bytes: Buffer };

export interface ReadClientHelloOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

/**
 * Reads from `socket` (a net.Socket, or any byte stream such as a tunnel stream) until a ClientHello is
 * complete, invalid, too large, timed out or the peer closed. On return the stream is paused and no
 * listener of ours remains attached.
 *
 * @example
 * const hello = await readClientHello(socket, { timeoutMs: 5000 });
 * if (hello.kind === 'ok') console.log(hello.sni);
 */
export function readClientHello(
  socket: Duplex,
  options: ReadClientHelloOptions = {},
): Promise<ReadClientHelloResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_HELLO_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES;
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let length = 0;
    // Parse only once the bytes the last parse asked for have arrived: a hello dribbled one byte at a
    // time costs one concat and one parse per TLS record, not one per byte.
    let parseAt = 0;
    const bytes = (): Buffer => {
      if (chunks.length > 1) chunks = [Buffer.concat(chunks, length)];
      return chunks[0] ?? Buffer.alloc(0);
    };

    const finish = (result: ReadClientHelloResult): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      socket.off('error', onClosed);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length < parseAt && length < maxBytes) return;
      const all = bytes();
      const parsed: ClientHelloResult = parseClientHello(all, { maxBytes });
      if (parsed.kind === 'incomplete') {
        if (length >= maxBytes) finish({ kind: 'invalid', reason: 'ClientHello too large', bytes: all });
        else parseAt = length + parsed.need;
        return;
      }
      if (parsed.kind === 'invalid') finish({ kind: 'invalid', reason: parsed.reason, bytes: all });
      else finish({ ...parsed, bytes: all });
    };
    const onClosed = (): void => finish({ kind: 'closed', bytes: bytes() });
    const timer = setTimeout(() => finish({ kind: 'timeout', bytes: bytes() }), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.once('error', onClosed);
    socket.resume();
  });
}
