/**
 * Heartbeats seen from the connector's side of a tunnel: a dialer that reaches the relay like the real
 * one (`relayDialer`) and hands the tunnel a stream that passes every byte on unchanged, reading the
 * HTTP/2 frame headers of what the relay sends to count its PING frames (acknowledgements excluded).
 * Tests wait for "N heartbeats observed" instead of sleeping.
 *
 * @example
 * const counter = pingCountingDialer(tunnelDialOptions(fx, credential, echo));
 * const tunnel = await dialTunnel({ ...tunnelDialOptions(fx, credential, echo), dialer: counter.dialer });
 * await waitFor(() => counter.pings() >= 3, 5000, 'three heartbeats');
 */
import { Duplex, Transform } from 'node:stream';
import { type RelayDialOptions, relayDialer, type TunnelDialer } from '../../src/tunnel/tunnel-dialer.js';

/** `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`: what the relay (the HTTP/2 client of a tunnel) sends first. */
const CLIENT_PREFACE_BYTES = 24;
/** Every HTTP/2 frame starts with 9 bytes: length (3), type (1), flags (1), stream id (4). */
const FRAME_HEADER_BYTES = 9;
const PING_FRAME = 0x6;
const ACK_FLAG = 0x1;

export interface PingCountingDialer {
  /** Dials the relay as `relayDialer(options)` does. */
  dialer: TunnelDialer;
  /** PING frames received from the relay so far, over every dialed tunnel. */
  pings(): number;
}

/** Calls `onFrame` with the type and flags of every whole frame in the bytes fed to the result. */
function frameHeaders(onFrame: (type: number, flags: number) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let prefaceLeft = CLIENT_PREFACE_BYTES;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const skipped = Math.min(prefaceLeft, pending.length);
    prefaceLeft -= skipped;
    pending = pending.subarray(skipped);
    while (pending.length >= FRAME_HEADER_BYTES) {
      const size = FRAME_HEADER_BYTES + pending.readUIntBE(0, 3);
      if (pending.length < size) return;
      onFrame(pending[3] ?? -1, pending[4] ?? 0);
      pending = pending.subarray(size);
    }
  };
}

/** A dialer like the relay dialer whose tunnels count the relay's PING frames; see the module comment. */
export function pingCountingDialer(options: RelayDialOptions): PingCountingDialer {
  const inner = relayDialer(options);
  let pings = 0;
  const dial = async (): Promise<Duplex> => {
    const socket = await inner.dial();
    const read = frameHeaders((type, flags) => {
      if (type === PING_FRAME && (flags & ACK_FLAG) === 0) pings++;
    });
    const fromRelay = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        read(chunk);
        callback(null, chunk);
      },
    });
    socket.pipe(fromRelay);
    return Duplex.from({ readable: fromRelay, writable: socket });
  };
  return { dialer: { transport: inner.transport, dial }, pings: () => pings };
}
