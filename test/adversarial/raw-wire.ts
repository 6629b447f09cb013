/**
 * Byte-level tools for adversarial tests: hand-made HTTP/2 frames (RFC 9113 §4.1) and WebSocket frames
 * (RFC 6455 §5.2), TLS connections to the relay host with a connector credential, and helpers that
 * wait, with a bound, for a socket to be closed by the other side. Test-only: these build malformed
 * input on purpose; production code uses node:http2 and ws.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/** HTTP/2 client connection preface. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export const H2 = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
} as const;

/** One HTTP/2 frame. `length` overrides the length field (to lie about it). */
export function h2Frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
  length = payload.length,
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK for `:status: 200` (static table index 8) — all a minimal response needs. */
export const HPACK_STATUS_200 = Buffer.from([0x88]);

/** One WebSocket frame as a client sends it (masked unless `masked: false`). */
export function wsFrame(
  opcode: number,
  payload: Buffer,
  options: { fin?: boolean; masked?: boolean; claimedLength?: bigint } = {},
): Buffer {
  const fin = options.fin ?? true;
  const masked = options.masked ?? true;
  const length = options.claimedLength ?? BigInt(payload.length);
  const parts: Buffer[] = [Buffer.from([(fin ? 0x80 : 0) | (opcode & 0x0f)])];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126n) parts.push(Buffer.from([maskBit | Number(length)]));
  else if (length < 65536n) {
    const b = Buffer.alloc(3);
    b[0] = maskBit | 126;
    b.writeUInt16BE(Number(length), 1);
    parts.push(b);
  } else {
    const b = Buffer.alloc(9);
    b[0] = maskBit | 127;
    b.writeBigUInt64BE(length, 1);
    parts.push(b);
  }
  if (masked) {
    const mask = randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
    parts.push(mask, body);
  } else parts.push(payload);
  return Buffer.concat(parts);
}

/** TLS to the relay host (`relay.localhost`) as a connector would dial it. */
export async function dialRelayHost(options: {
  port: number;
  caPem: string;
  credential?: { certPem: string; keyPem: string };
  alpn: string[];
  servername?: string;
}): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: options.port,
    servername: options.servername ?? 'relay.localhost',
    ca: options.caPem,
    ALPNProtocols: options.alpn,
    ...(options.credential ? { cert: options.credential.certPem, key: options.credential.keyPem } : {}),
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed during the TLS handshake')));
  });
  return socket;
}

/** Resolves true when `socket` closes within `ms`, false otherwise (the socket is then destroyed). */
export function closedWithin(socket: Duplex, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('close', onClose);
      socket.destroy();
      resolve(false);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', onClose);
  });
}

/** Collects everything `socket` sends from now on. */
export function collect(socket: Duplex): { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { bytes: () => Buffer.concat(chunks) };
}

/** Waits (bounded) until `check()` holds. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The frame headers in `bytes` (starting at `offset`), as far as they are complete. */
export function h2FrameHeaders(
  bytes: Buffer,
  offset = 0,
): Array<{ type: number; flags: number; streamId: number; length: number }> {
  const out: Array<{ type: number; flags: number; streamId: number; length: number }> = [];
  let at = offset;
  while (at + 9 <= bytes.length) {
    const length = bytes.readUIntBE(at, 3);
    if (at + 9 + length > bytes.length) break;
    out.push({
      type: bytes[at + 3]!,
      flags: bytes[at + 4]!,
      streamId: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      length,
    });
    at += 9 + length;
  }
  return out;
}
