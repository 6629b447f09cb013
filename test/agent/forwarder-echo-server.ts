/**
 * The raw HTTPS peer of the local forwarder tests: the tenant certificate, the agent's client certificate
 * required, every request recorded; and the plain-HTTP requests the tests send to the forwarder.
 */
import { once } from 'node:events';
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TenantPki } from './tls-mcp-server.js';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  clientCn: string | undefined;
}

/**
 * A raw HTTPS peer with the tenant certificate that requires the agent's client certificate and
 * records what reached it. `/sse` streams one event, waits for `releaseSecond()`, then a second one;
 * `/hold` keeps the response open until the client goes away (`heldClosed` resolves).
 */
export interface EchoServer {
  port: number;
  seen: Seen[];
  releaseSecond: () => void;
  heldClosed: Promise<void>;
  close(): Promise<void>;
}

/** `/sse`: two events, the second once `second` resolves; `/hold`: open until the client leaves; else 201 JSON. */
function answer(
  url: string | undefined,
  res: ServerResponse,
  second: Promise<void>,
  heldClosed: () => void,
): void {
  if (url === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('id: 1\ndata: first\n\n');
    void second.then(() => res.end('id: 2\ndata: second\n\n'));
    return;
  }
  if (url === '/hold') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': held\n\n');
    res.once('close', () => heldClosed());
    return;
  }
  res.writeHead(201, {
    'content-type': 'application/json',
    'set-cookie': ['a=1', 'b=2'],
    'x-upstream': 'yes',
    connection: 'keep-alive, x-upstream',
  });
  res.end(JSON.stringify({ ok: true }));
}

export async function startEchoServer(pki: TenantPki): Promise<EchoServer> {
  const seen: Seen[] = [];
  let releaseSecond: () => void = () => {};
  const second = new Promise<void>((resolve) => {
    releaseSecond = resolve;
  });
  let heldClosedResolve: () => void = () => {};
  const heldClosed = new Promise<void>((resolve) => {
    heldClosedResolve = resolve;
  });
  const server: HttpsServer = createServer(
    {
      key: pki.server.keyPem,
      cert: pki.server.certPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN;
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
          clientCn: Array.isArray(cn) ? cn[0] : cn,
        });
        answer(req.url, res, second, heldClosedResolve);
      });
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    releaseSecond: () => releaseSecond(),
    heldClosed,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP/1.1 request with full control over Host (fetch cannot set it). */
export function raw(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function openStream(
  port: number,
  path: string,
): Promise<{ res: IncomingMessage; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) =>
      resolve({ res, destroy: () => req.destroy() }),
    );
    req.on('error', reject);
    req.end();
  });
}

export function nextChunk(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => res.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
}
