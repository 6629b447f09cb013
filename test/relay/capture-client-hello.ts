// Captures the real first flight (ClientHello records) that node's TLS client sends.
import net from 'node:net';
import tls from 'node:tls';

/** Starts a plain TCP server, lets tls.connect talk to it and returns the bytes up to the end of the ClientHello. */
export async function captureClientHello(
  connect: Omit<tls.ConnectionOptions, 'host' | 'port'>,
): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const captured = new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          const all = Buffer.concat(chunks);
          // Independent of the parser under test: one record whose length is in its header.
          if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
            socket.destroy();
            resolve(all.subarray(0, 5 + all.readUInt16BE(3)));
          }
        });
        socket.on('error', reject);
      });
    });
    const client = tls.connect({ ...connect, host: '127.0.0.1', port });
    client.on('error', () => {});
    const bytes = await captured;
    client.destroy();
    return bytes;
  } finally {
    server.close();
  }
}

/** Re-frames the handshake message of single-record `hello` into TLS records of at most `size` bytes. */
export function splitIntoRecords(hello: Buffer, sizes: number[]): Buffer {
  const message = hello.subarray(5);
  const out: Buffer[] = [];
  let at = 0;
  let i = 0;
  while (at < message.length) {
    const size = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    const part = message.subarray(at, at + size);
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    out.push(header, part);
    at += part.length;
  }
  return Buffer.concat(out);
}
