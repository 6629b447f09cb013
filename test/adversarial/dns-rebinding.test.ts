/**
 * DNS rebinding on every HTTP surface: a page on `evil.example` whose name is re-pointed at the
 * relay or at the connector's loopback ports. A browser then sends `Host: evil.example[:port]` (and
 * SNI `evil.example` over TLS) and, on writes, `Origin: http(s)://evil.example`. Every surface must
 * refuse such requests: the relay's public port (enrollment API, audit witness, tunnels), the relay's
 * admin port (metrics), the connector's /mcp (through the relay) and the connector's admin console.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { Stack } from '../e2e/airlock-stack.js';
import { startAbuseStack } from './abuse-stack.js';
import { closedWithin, collect, dialRelayHost } from './raw-wire.js';

let stack: Stack;

before(async () => {
  stack = await startAbuseStack();
});
after(() => stack.close());

function plainRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One HTTP/1.1 request on the relay host's TLS (SNI relay.localhost), returns the status line's code. */
async function relayHostRequest(head: string, body = ''): Promise<number> {
  const socket = await dialRelayHost({
    port: stack.relay.port,
    caPem: stack.relay.caPem,
    alpn: ['http/1.1'],
  });
  const inbound = collect(socket);
  socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  await closedWithin(socket, 5000);
  return Number(/^HTTP\/1\.1 (\d+)/.exec(inbound.bytes().toString('latin1'))?.[1] ?? 0);
}

const REFUSED = [403, 421];

describe('relay, public port', () => {
  it('a rebinding browser cannot even finish TLS: SNI evil.example is refused', async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: stack.relay.port,
      servername: 'evil.example',
      rejectUnauthorized: false,
    });
    const err = await new Promise<Error>((resolve) => socket.once('error', resolve));
    assert.match(err.message, /unrecognized name|alert number 112/i);
    socket.destroy();
  });

  it('the relay-host HTTPS (enrollment, witness) refuses a foreign Host and a browser Origin', async () => {
    const foreignHost = await relayHostRequest(
      'POST /v1/enroll HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n',
      '{"token":"alk_x.y","csr":"-"}',
    );
    const foreignOrigin = await relayHostRequest(
      'POST /v1/enroll HTTP/1.1\r\nHost: relay.localhost\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\n',
      '{"token":"alk_x.y","csr":"-"}',
    );
    assert.ok(
      REFUSED.includes(foreignHost) && REFUSED.includes(foreignOrigin),
      `FINDING: the relay-host HTTPS has no Host/Origin check (Host evil.example → ${foreignHost}, Origin evil.example → ${foreignOrigin}); the SNI check above is what stops browsers today`,
    );
  });
});

describe('relay, admin port', () => {
  it('refuses a foreign Host on /metrics and /healthz (a rebinding page would read tenant names)', async () => {
    const base = `http://127.0.0.1:${stack.relay.adminPort}`;
    const ok = await plainRequest(`${base}/healthz`, {});
    assert.equal(ok.status, 200, 'loopback Host is served');
    for (const path of ['/metrics', '/healthz']) {
      const res = await plainRequest(`${base}${path}`, {
        headers: { host: `evil.example:${stack.relay.adminPort}` },
      });
      assert.ok(
        REFUSED.includes(res.status),
        `FINDING: relay admin ${path} answers ${res.status} to Host evil.example${res.body.includes('tenant=') ? ' and leaks tenant names' : ''}`,
      );
    }
  });
});

describe('connector', () => {
  it('/mcp through the relay refuses a foreign Host or Origin with 403', async () => {
    const acme = stack.tenant('acme');
    for (const headers of [{ host: 'evil.example' }, { host: acme.host, origin: 'https://evil.example' }]) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: stack.relay.port,
            path: '/mcp',
            method: 'POST',
            servername: acme.host,
            ca: acme.agent.caPem,
            cert: acme.agent.certPem,
            key: acme.agent.keyPem,
            agent: false,
            headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}');
      });
      assert.equal(status, 403, JSON.stringify(headers));
    }
  });

  it('the admin console refuses a foreign Host, and writes from a foreign Origin', async () => {
    const admin = stack.tenant('acme').connector.adminUrl;
    const port = new URL(admin).port;
    const own = await plainRequest(`${admin}/healthz`, {});
    assert.equal(own.status, 200, 'loopback Host is served');
    const results: string[] = [];
    for (const path of ['/', '/api/status', '/healthz']) {
      const res = await plainRequest(`${admin}${path}`, { headers: { host: `evil.example:${port}` } });
      if (!REFUSED.includes(res.status)) results.push(`GET ${path} → ${res.status}`);
    }
    const write = await plainRequest(`${admin}/login`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'account=admin&password=x',
    });
    if (!REFUSED.includes(write.status)) results.push(`POST /login from evil.example → ${write.status}`);
    assert.deepEqual(
      results,
      [],
      `FINDING: the connector serves its admin surface to a rebinding page: ${results.join('; ')}`,
    );
  });
});
