import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { createProxy } from 'proxy';
import { TunnelError } from '../../src/errors/airlock-error.js';
import { bypassesProxy, openProxyTunnel, resolveProxy } from '../../src/tunnel/proxy-connect.js';

test('HTTPS_PROXY / https_proxy are used unless NO_PROXY matches; explicit option wins', () => {
  const env = {
    HTTPS_PROXY: 'http://proxy:3128',
    NO_PROXY: 'localhost, .corp.example,10.0.0.1,relay.example:8443',
  };
  assert.equal(resolveProxy({ host: 'relay.example.com', port: 443, env }), 'http://proxy:3128');
  assert.equal(resolveProxy({ host: 'relay.corp.example', port: 443, env }), undefined);
  assert.equal(resolveProxy({ host: 'corp.example', port: 443, env }), undefined);
  assert.equal(resolveProxy({ host: 'LOCALHOST', port: 443, env }), undefined);
  assert.equal(resolveProxy({ host: 'api.localhost', port: 443, env }), undefined);
  assert.equal(resolveProxy({ host: '10.0.0.1', port: 443, env }), undefined);
  assert.equal(resolveProxy({ host: '10.0.0.2', port: 443, env }), 'http://proxy:3128');
  assert.equal(resolveProxy({ host: 'relay.example', port: 8443, env }), undefined);
  assert.equal(resolveProxy({ host: 'relay.example', port: 443, env }), 'http://proxy:3128');
  assert.equal(
    resolveProxy({ host: 'a', port: 1, env: { https_proxy: 'http://lower:1' } }),
    'http://lower:1',
  );
  assert.equal(resolveProxy({ host: 'a', port: 1, env: {} }), undefined);
  assert.equal(resolveProxy({ host: 'a', port: 1, env, proxy: false }), undefined);
  assert.equal(
    resolveProxy({ host: 'localhost', port: 1, env, proxy: 'http://explicit:1' }),
    'http://explicit:1',
  );
  assert.equal(bypassesProxy('anything', 1, '*'), true);
  assert.equal(bypassesProxy('notcorp.example', 1, '.corp.example'), false);
  assert.equal(bypassesProxy('a.b.example', 1, '*.b.example'), true);
});

test('openProxyTunnel gets a raw TCP path through a real CONNECT proxy, and reports refusals', async () => {
  const target = net.createServer((s) => s.end('hello from target'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const proxy = createProxy(http.createServer());
  proxy.authenticate = (req) =>
    req.headers['proxy-authorization'] === `Basic ${Buffer.from('u:p').toString('base64')}`;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  const targetPort = (target.address() as net.AddressInfo).port;
  try {
    const socket = await openProxyTunnel(`http://u:p@127.0.0.1:${proxyPort}`, {
      host: '127.0.0.1',
      port: targetPort,
    });
    let text = '';
    for await (const chunk of socket) text += chunk;
    assert.equal(text, 'hello from target');
    const refused = await openProxyTunnel(`http://127.0.0.1:${proxyPort}`, {
      host: '127.0.0.1',
      port: targetPort,
    }).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e as TunnelError,
    );
    assert.ok(refused instanceof TunnelError);
    assert.equal(refused.retryable, true);
    assert.match(refused.message, /407/);
  } finally {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await new Promise<void>((resolve) => target.close(() => resolve()));
  }
});
