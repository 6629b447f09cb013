/**
 * A plain HTTP server on 127.0.0.1:0 for the undici-fetch tests: `/echo` answers what it received as
 * JSON, `/sse` streams one event and waits for `releaseSse()` before the second, `/hold` never
 * answers, `/die-json` and `/die-sse` lose the connection mid-body, `/status/<n>` answers `n` with no
 * body, `/redirect` points at `/echo`, `/gzip` answers compressed, `/big-declared` and `/big-chunked` answer
 * 4 KiB with and without a `content-length`, `/sse-endless` streams events until the client stops reading, `/sse-endless-event` one event
 * that never ends. It counts connections and keeps
 * each request's path with its socket (`received`), so a test can see that connection close.
 *
 * @example
 * const server = await startTestServer();
 * const res = await fetch(`${server.url}/echo`, { method: 'POST', body: 'hi' });
 * await server.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface TestServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** TCP connections accepted so far. */
  connections: number;
  /** Every request received: its path and the connection it came on. */
  received: Array<{ path: string; socket: Socket }>;
  /** `/sse` answers waiting for `releaseSse()`. */
  sseWaiting: Array<() => void>;
  /** Lets the `/sse` answers waiting now send their second event and end. */
  releaseSse(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type Route = (req: IncomingMessage, res: ServerResponse, server: TestServer) => void | Promise<void>;

const ROUTES: Record<string, Route> = {
  '/echo': async (req, res) => {
    const body = await readBody(req);
    res.writeHead(200, { 'content-type': 'application/json', 'x-answer': 'yes' });
    res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
  },
  '/sse': (_req, res, server) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: {"n":1}\n\n');
    server.sseWaiting.push(() => res.end('data: {"n":2}\n\n'));
  },
  '/hold': () => {},
  '/die-json': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"partial":', () => res.socket?.destroy());
  },
  '/die-sse': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"n":1}\n\n', () => res.socket?.destroy());
  },
  '/redirect': (_req, res) => {
    res.writeHead(302, { location: '/echo' });
    res.end();
  },
  // 4 KiB of JSON, with and without a declared length (the body cap's tests).
  '/big-declared': (_req, res) => {
    const body = JSON.stringify({ pad: 'x'.repeat(4096) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  },
  '/big-chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"pad":"');
    res.end(`${'x'.repeat(4096)}"}`);
  },
  // An SSE answer that never ends: events of 1 KiB for as long as the client reads.
  '/sse-endless': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = `data: {"pad":"${'x'.repeat(1024)}"}\n\n`;
    const more = () => {
      while (!res.destroyed && res.write(event)) {}
      if (!res.destroyed) res.once('drain', more);
    };
    res.on('close', () => res.removeListener('drain', more));
    more();
  },
  // One SSE event that never ends: `data: ` and then `x` for as long as the client reads.
  '/sse-endless-event': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: ');
    const pad = 'x'.repeat(1024);
    const more = () => {
      while (!res.destroyed && res.write(pad)) {}
      if (!res.destroyed) res.once('drain', more);
    };
    res.on('close', () => res.removeListener('drain', more));
    more();
  },
  '/gzip': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify({ compressed: true })));
  },
};

/** Starts the server; `close()` ends every connection. */
export async function startTestServer(): Promise<TestServer> {
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    state.received.push({ path, socket: req.socket });
    const status = /^\/status\/(\d+)$/.exec(path);
    if (status) {
      res.writeHead(Number(status[1]));
      res.end();
      return;
    }
    const route = ROUTES[path];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    void route(req, res, state);
  });
  http.on('connection', () => {
    state.connections++;
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const state: TestServer = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    connections: 0,
    received: [],
    sseWaiting: [],
    releaseSse: () => {
      for (const release of state.sseWaiting.splice(0)) release();
    },
    close: async () => {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  return state;
}
