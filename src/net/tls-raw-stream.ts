/**
 * The byte stream a server-side TLS socket was created on, when a server was handed a plain `Duplex`
 * (`tlsServer.emit('connection', tunnelStream)`): the connector needs it to know which tunnel an agent's
 * HTTP connection arrived on. Node keeps that link only inside the socket (TLSSocket → its TLS handle →
 * the JSStreamSocket wrapping the Duplex → `stream`) and offers no public accessor, so this reads those
 * fields and returns `undefined` wherever they are not as expected: callers then treat the connection
 * as belonging to no tunnel (the behaviour before this existed). test/net/tls-raw-stream.test.ts pins
 * the lookup on the Node version in use.
 *
 * @example
 * server.on('secureConnection', (socket) => tunnelOf.get(rawStreamOf(socket)));
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

interface TlsHandleInternals {
  _parentWrap?: { stream?: unknown };
}

export function rawStreamOf(socket: TLSSocket): Duplex | undefined {
  const handle = (socket as unknown as { _handle?: TlsHandleInternals | null })._handle;
  const stream = handle?._parentWrap?.stream;
  return isDuplex(stream) ? stream : undefined;
}

function isDuplex(value: unknown): value is Duplex {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Duplex).pipe === 'function' &&
    typeof (value as Duplex).write === 'function'
  );
}
