/**
 * `airlock discover` over loopback, as a separate process: it finds a governed MCP server (an HTTP
 * upstream of the connector config) and an ungoverned one, both eras and their tools; it refuses a
 * target outside its named range and a scope that is too large; and a probed server that redirects
 * elsewhere does not take the probe outside the range.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { parseDiscoverScope, parsePorts } from '../../src/discover/target-range.js';
import type { DiscoveryResult } from '../../src/report/report-model.js';
import { CLI } from '../e2e/cli-process.js';
import { type HttpMcpServer, startHttpMcpServer } from '../report/http-mcp-server.js';

let dir: string;
let governed: HttpMcpServer;
let shadow: HttpMcpServer;
let configFile: string;

export function airlock(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-discover-'));
  governed = await startHttpMcpServer('wiki');
  shadow = await startHttpMcpServer('shadow-crm');
  configFile = join(dir, 'connector.yaml');
  await writeFile(
    configFile,
    stringify({
      dataDir: join(dir, 'data'),
      tenantHost: 'acme.localhost',
      upstreams: { wiki: { url: governed.url } },
    }),
  );
});

after(async () => {
  await governed?.close();
  await shadow?.close();
  await rm(dir, { recursive: true, force: true });
});

test('discover finds the governed and the ungoverned MCP server on loopback, with server info, eras and tools', async () => {
  const out = join(dir, 'found.json');
  const r = await airlock([
    'discover',
    '--cidr',
    '127.0.0.1/32',
    '--ports',
    `${governed.port},${shadow.port}`,
    '--config',
    configFile,
    '--rate',
    '50',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as DiscoveryResult;
  assert.equal(result.probed, 2);
  assert.equal(result.open, 2);
  const byPort = new Map(result.endpoints.map((e) => [e.port, e]));
  const g = byPort.get(governed.port);
  const s = byPort.get(shadow.port);
  assert.ok(g && s, JSON.stringify(result.endpoints));
  assert.equal(g.governed, true);
  assert.equal(g.upstream, 'wiki');
  assert.deepEqual(g.serverInfo, { name: 'wiki', version: '3.1.4' });
  assert.equal(s.governed, false);
  assert.equal(s.upstream, null);
  assert.equal(s.serverInfo?.name, 'shadow-crm');
  for (const e of [g, s]) {
    assert.deepEqual(e.tools, ['lookup', 'publish']);
    assert.deepEqual(e.eras, ['2025-11-25', '2026-07-28']);
  }
});

test('discover refuses a target outside its named range, and a scope over the bound, before probing', async () => {
  const outside = await airlock([
    'discover',
    '--cidr',
    '127.0.0.1/32',
    '--ports',
    String(shadow.port),
    '--target',
    `127.0.0.2:${shadow.port}`,
  ]);
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /AIRLOCK_DISCOVER_OUT_OF_RANGE/);
  assert.match(outside.stderr, /127\.0\.0\.2/);
  const huge = await airlock(['discover', '--cidr', '10.0.0.0/8', '--ports', '80']);
  assert.equal(huge.code, 1);
  assert.match(huge.stderr, /AIRLOCK_DISCOVER_TOO_MANY/);
  const hostname = await airlock([
    'discover',
    '--cidr',
    '127.0.0.1/32',
    '--ports',
    '80',
    '--target',
    'localhost:80',
  ]);
  assert.equal(hostname.code, 1);
  assert.match(hostname.stderr, /AIRLOCK_DISCOVER_USAGE/);
});

test('a probed server that redirects out of the range does not take the probe there', async () => {
  let lured = 0;
  const trap: Server = createServer((_req, res) => {
    lured += 1;
    res.end();
  });
  trap.on('connection', () => {
    lured += 1;
  });
  trap.listen(0, '127.0.0.2');
  await once(trap, 'listening');
  const trapPort = (trap.address() as AddressInfo).port;
  const redirector: Server = createServer((_req, res) => {
    res.writeHead(307, { location: `http://127.0.0.2:${trapPort}/mcp` });
    res.end();
  });
  redirector.listen(0, '127.0.0.1');
  await once(redirector, 'listening');
  const port = (redirector.address() as AddressInfo).port;
  try {
    const r = await airlock(['discover', '--cidr', '127.0.0.1/32', '--ports', String(port), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as DiscoveryResult;
    assert.equal(result.open, 1);
    assert.deepEqual(result.endpoints, []);
    assert.equal(lured, 0);
  } finally {
    redirector.closeAllConnections();
    trap.closeAllConnections();
    await Promise.all([new Promise((r) => redirector.close(r)), new Promise((r) => trap.close(r))]);
  }
});

test('scopes: ranges are enumerated and enforced by a block list; ports parse and bound', () => {
  const scope = parseDiscoverScope({ cidrs: ['192.168.7.8/30', '::1'], ports: '80,443' });
  assert.deepEqual(
    scope.targets.map((t) => `${t.host}:${t.port}`),
    [
      '192.168.7.8:80',
      '192.168.7.8:443',
      '192.168.7.9:80',
      '192.168.7.9:443',
      '192.168.7.10:80',
      '192.168.7.10:443',
      '192.168.7.11:80',
      '192.168.7.11:443',
      '::1:80',
      '::1:443',
    ],
  );
  assert.equal(scope.allows('192.168.7.11'), true);
  assert.equal(scope.allows('192.168.7.12'), false);
  assert.equal(scope.allows('::ffff:192.168.7.9'), true);
  assert.equal(scope.allows('localhost'), false);
  assert.deepEqual(parsePorts('3000-3002, 22'), [22, 3000, 3001, 3002]);
  assert.throws(() => parsePorts('0-5'), /AIRLOCK|not a port/);
  assert.throws(
    () => parseDiscoverScope({ cidrs: ['10.0.0.0/21'], ports: '1' }),
    (e: Error & { code?: string }) => e.code === 'AIRLOCK_DISCOVER_TOO_MANY',
  );
  assert.throws(
    () => parseDiscoverScope({ cidrs: ['not-a-range'], ports: '1' }),
    (e: Error & { code?: string }) => e.code === 'AIRLOCK_DISCOVER_USAGE',
  );
});
