/**
 * AgentEndpoint on its own: TLS termination on streams handed over by a tunnel (`accept`) and on a local
 * port, the identity handed to the handler, refusals, limits and disconnection of a revoked identity.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { identityFromAuthInfo } from '../../src/mcp/agent-auth-info.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';

let kit: TenantKit;
let endpoint: AgentEndpoint;
let bot: AgentCredentials;
let port: number;
let relay: NetServer;
let relayPort: number;
const held = new Set<IncomingMessage>();

before(async () => {
  kit = await createTenantKit();
  bot = await kit.issueAgent('claims-bot');
  endpoint = new AgentEndpoint({
    tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
    identities: kit.store.identities,
    limits: { maxHeaderSize: 4096, revalidateIntervalMs: 100 },
    handler: (req, res) => {
      if (req.url === '/hold') {
        held.add(req);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
        return;
      }
      const identity = identityFromAuthInfo((req as IncomingMessage & { auth?: AuthInfo }).auth);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ identity, path: req.url }));
    },
  });
  port = (await endpoint.listen(0, '127.0.0.1')).port;
  // A stand-in for the relay tunnel: every TCP connection is handed to accept() as a raw byte stream.
  relay = createNetServer((socket) => endpoint.accept(socket));
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  relayPort = (relay.address() as { port: number }).port;
});

after(async () => {
  await endpoint.close();
  await new Promise((resolve) => relay.close(resolve));
  await kit.close();
});

describe('AgentEndpoint: the verified identity over TLS, on a port and on any Duplex', () => {
  it('hands the verified identity to the handler on the local port and via accept()', async () => {
    const f = tlsFetch({ caPem: kit.ca.certPem, client: bot });
    try {
      for (const p of [port, relayPort]) {
        const res = await f.fetch(`https://${TENANT_HOST}:${p}/mcp`);
        assert.equal(res.status, 200);
        const body = (await res.json()) as {
          identity: { name: string; spiffeId: string; certSerial: string; authenticatedBy: string };
        };
        assert.deepEqual(body.identity, {
          name: 'claims-bot',
          spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
          certSerial: bot.serial,
          authenticatedBy: 'mtls',
        });
      }
    } finally {
      await f.close();
    }
  });

  it('terminates TLS on any Duplex (not only sockets), e.g. a multiplexed tunnel stream', async () => {
    const toEndpoint = new PassThrough();
    const toAgent = new PassThrough();
    endpoint.accept(Duplex.from({ readable: toEndpoint, writable: toAgent }));
    const agentSide = Duplex.from({ readable: toAgent, writable: toEndpoint });
    const tlsSocket = tlsConnect({
      socket: agentSide,
      servername: TENANT_HOST,
      ca: kit.ca.certPem,
      cert: bot.certPem,
      key: bot.keyPem,
    });
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          createConnection: () => tlsSocket,
          host: TENANT_HOST,
          path: '/over-duplex',
          headers: { host: TENANT_HOST, connection: 'close' },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            data += chunk;
          });
          res.on('end', () => resolve(data));
        },
      );
      req.on('error', reject);
      req.end();
    });
    tlsSocket.destroy();
    const parsed = JSON.parse(body) as { identity: { name: string }; path: string };
    assert.equal(parsed.identity.name, 'claims-bot');
    assert.equal(parsed.path, '/over-duplex');
  });
});

describe('AgentEndpoint: refusals', () => {
  it('refuses a browser Origin of another site and oversized headers', async () => {
    const f = tlsFetch({ caPem: kit.ca.certPem, client: bot });
    try {
      const cross = await f.fetch(`https://${TENANT_HOST}:${port}/mcp`, {
        headers: { origin: 'https://evil.example' },
      });
      assert.equal(cross.status, 403);
      assert.equal(
        ((await cross.json()) as { error: { data: { airlock: string } } }).error.data.airlock,
        'AIRLOCK_HOST_NOT_ALLOWED',
      );
      const same = await f.fetch(`https://${TENANT_HOST}:${port}/mcp`, {
        headers: { origin: `https://${TENANT_HOST}` },
      });
      assert.equal(same.status, 200);
      await same.arrayBuffer();
      const big = await f.fetch(`https://${TENANT_HOST}:${port}/mcp`, {
        headers: { 'x-filler': 'a'.repeat(8000) },
      });
      assert.equal(big.status, 431);
    } finally {
      await f.close();
    }
  });
});

describe('AgentEndpoint: disconnection and revocation of live connections', () => {
  it('disconnect(identity) drops the live connections of that identity (e.g. an open SSE stream)', async () => {
    const f = tlsFetch({ caPem: kit.ca.certPem, client: bot });
    try {
      const res = await f.fetch(`https://${TENANT_HOST}:${port}/hold`);
      assert.equal(res.status, 200);
      const reader = res.body?.getReader();
      assert.ok(reader);
      await reader.read();
      assert.equal(endpoint.disconnect('nobody'), 0);
      assert.ok(endpoint.disconnect('claims-bot') >= 1);
      await assert.rejects(async () => {
        for (;;) {
          const { done } = await reader.read();
          if (done) throw new Error('stream ended');
        }
      });
    } finally {
      await f.close();
    }
  });

  it('revoking an identity closes its open connections (long-lived streams too) within the revalidation interval', async () => {
    const held = await kit.issueAgent('held-bot');
    const f = tlsFetch({ caPem: kit.ca.certPem, client: held });
    try {
      const res = await f.fetch(`https://${TENANT_HOST}:${port}/hold`);
      assert.equal(res.status, 200);
      const reader = res.body?.getReader();
      assert.ok(reader);
      await reader.read();
      await kit.store.identities.revokeIdentity('held-bot', Date.now());
      const outcome = await (async () => {
        try {
          for (;;) {
            const { done } = await reader.read();
            if (done) return 'ended';
          }
        } catch {
          return 'destroyed';
        }
      })();
      assert.ok(outcome === 'ended' || outcome === 'destroyed');
      const again = await f.fetch(`https://${TENANT_HOST}:${port}/mcp`);
      assert.equal(again.status, 401);
      assert.equal(
        ((await again.json()) as { error: { data: { airlock: string } } }).error.data.airlock,
        'AIRLOCK_IDENTITY_REVOKED',
      );
    } finally {
      await f.close();
    }
  });
});
