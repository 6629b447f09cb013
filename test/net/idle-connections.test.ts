/**
 * Keep-alive connections under a drain (src/net/idle-connections.ts), on a real HTTP server on
 * loopback with a keep-alive client: idle ones close at once, a request made while draining is answered
 * with `Connection: close`, a response already under way ends its connection once complete,
 * connections the drain does not pick stay open, and with a quiet period a connection answered a moment
 * ago is left for its client's next request.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { text as readAll } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { trackIdleConnections } from '../../src/net/idle-connections.js';

interface Answer {
  status: number;
  connection: string | undefined;
  socket: Socket;
}

function get(port: number, agent: http.Agent, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          socket: req.socket as Socket,
        }),
      );
    });
    req.once('error', reject);
  });
}

/** A server whose drain picks the connections whose client ports are in `draining`; `/slow` waits. */
interface DrainRig {
  server?: http.Server;
  port: number;
  draining: Set<number>;
  closeIdle: ReturnType<typeof trackIdleConnections>['closeIdle'];
  started?: () => void;
  release?: () => void;
}

function useDrainServer(quietMs?: number): DrainRig {
  const rig: DrainRig = { port: 0, draining: new Set(), closeIdle: () => 0 };
  let server: http.Server;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url !== '/slow') return void res.end('ok');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started ');
      rig.release = () => res.end('done');
      rig.started?.();
    });
    rig.server = server;
    ({ closeIdle: rig.closeIdle } = trackIdleConnections(server, {
      draining: (socket) => rig.draining.has((socket as Socket).remotePort ?? -1),
      quietMs,
    }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    rig.port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return rig;
}

describe('idle keep-alive connections under a drain: which ones close', () => {
  const rig = useDrainServer();

  it('closes only the idle connections the drain picks', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const [a, b] = await Promise.all([get(rig.port, agent, '/'), get(rig.port, agent, '/')]);
    assert.notEqual(a.socket, b.socket, 'two connections');
    assert.equal(a.connection, 'keep-alive');
    rig.draining.add(a.socket.localPort ?? -1);
    const closed = once(a.socket, 'close');
    assert.equal(
      rig.closeIdle((s) => rig.draining.has((s as Socket).remotePort ?? -1)),
      1,
    );
    await closed;
    assert.equal(b.socket.destroyed, false, 'the connection the drain did not pick stays open');
    agent.destroy();
  });

  it('leaves a new connection that has not sent its request yet; its answer then says Connection: close', async () => {
    assert.ok(rig.server);
    const accepted = once(rig.server, 'connection');
    const raw = net.connect(rig.port, '127.0.0.1');
    await once(raw, 'connect');
    await accepted;
    rig.draining.add(raw.localPort ?? -1);
    const isRaw = (socket: unknown) => (socket as Socket).remotePort === raw.localPort;
    assert.equal(rig.closeIdle(isRaw), 0, 'a connection before its first request is not idle');
    raw.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const answer = await readAll(raw); // ends: the server closes after answering
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /\r\nConnection: close\r\n/i);
  });
});

describe('idle keep-alive connections under a drain: answers under way and after', () => {
  const rig = useDrainServer();

  it('answers a request made while draining with Connection: close and ends the connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(rig.port, agent, '/');
    rig.draining.add(first.socket.localPort ?? -1);
    const closed = once(first.socket, 'close');
    const second = await get(rig.port, agent, '/');
    assert.equal(second.socket, first.socket, 'the kept-alive connection was reused');
    assert.equal(second.connection, 'close');
    await closed;
    agent.destroy();
  });

  it('ends a connection whose response was under way when the drain began, once it is complete', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const underWay = new Promise<void>((resolve) => {
      rig.started = resolve;
    });
    const slow = get(rig.port, agent, '/slow');
    await underWay;
    const socket = [...Object.values(agent.sockets)].flat()[0] as Socket;
    rig.draining.add(socket.localPort ?? -1);
    const isBusy = (other: unknown) => (other as Socket).remotePort === socket.localPort;
    assert.equal(rig.closeIdle(isBusy), 0, 'a busy connection is not idle');
    const closed = once(socket, 'close');
    rig.release?.();
    const answer = await slow;
    assert.equal(answer.status, 200, 'the response completed');
    assert.equal(answer.connection, 'keep-alive', 'its headers went out before the drain');
    await closed;
    agent.destroy();
  });
});

describe('idle keep-alive connections under a drain with a quiet period', () => {
  // Long enough that the first test's request always comes within it, even on a busy machine.
  const rig = useDrainServer(60_000);

  it('leaves a connection answered a moment ago for the request its client sends next, answered with Connection: close', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(rig.port, agent, '/');
    rig.draining.add(first.socket.localPort ?? -1);
    assert.equal(rig.closeIdle(), 1, 'the idle connection is chosen');
    assert.equal(first.socket.destroyed, false, 'but not closed before it has been quiet');
    const closed = once(first.socket, 'close');
    const second = await get(rig.port, agent, '/');
    assert.equal(second.socket, first.socket, 'the next request went on the same connection');
    assert.equal(second.status, 200);
    assert.equal(second.connection, 'close');
    await closed;
    agent.destroy();
  });
});

describe('idle keep-alive connections under a drain with a short quiet period', () => {
  const rig = useDrainServer(50);

  it('closes a connection that stays idle for the quiet period', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(rig.port, agent, '/');
    rig.draining.add(first.socket.localPort ?? -1);
    const closed = once(first.socket, 'close');
    assert.equal(rig.closeIdle(), 1);
    await closed;
    agent.destroy();
  });
});
