// A TCP forwarder between connector and relay that can "freeze" its current connections: bytes stop
// flowing both ways but no FIN or RST is sent, which is what a half-open connection looks like
// (a NAT that dropped the flow, a peer whose machine lost power).
import net from 'node:net';

export interface TcpForwarder {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Stop forwarding on every current connection, silently. New connections still work. */
  freeze(): void;
  close(): Promise<void>;
}

export async function startTcpForwarder(target: { host: string; port: number }): Promise<TcpForwarder> {
  const pairs: { a: net.Socket; b: net.Socket }[] = [];
  const server = net.createServer((a) => {
    forwarder.accepted++;
    const b = net.connect(target.port, target.host);
    a.on('error', () => b.destroy());
    b.on('error', () => a.destroy());
    a.on('close', () => b.destroy());
    b.on('close', () => a.destroy());
    a.pipe(b);
    b.pipe(a);
    pairs.push({ a, b });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const forwarder: TcpForwarder = {
    port: (server.address() as net.AddressInfo).port,
    accepted: 0,
    freeze() {
      for (const { a, b } of pairs.splice(0)) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
        frozen.push(a, b);
      }
    },
    async close() {
      for (const s of frozen) s.destroy();
      for (const { a, b } of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const frozen: net.Socket[] = [];
  return forwarder;
}
