/**
 * Cross-tenant attempts at every layer reachable today, on one relay with two tenants (`acme`,
 * `globex`): SNI tricks, tenant A's agent certificate at tenant B, a connector credential of A trying
 * to serve or impersonate B, a forged connector certificate, and enrollment tokens (the token, never
 * the request, decides the tenant; single use). Each is refused with a clear code, and nothing of
 * globex ever reaches acme's side.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  createCertificateAuthority,
  createCsr,
  generateKeyPair,
  issueClientCertificate,
} from '../../src/identity/pki.js';
import { connectorUri, TunnelCodes } from '../../src/tunnel/protocol.js';
import { dialTunnel, type TunnelConnection } from '../../src/tunnel/tunnel-client.js';
import type { Stack } from '../e2e/airlock-stack.js';
import { echoThrough, rogueCredential, startAbuseStack } from './abuse-stack.js';
import { closedWithin, collect, dialRelayHost, until } from './raw-wire.js';

let stack: Stack;

before(async () => {
  stack = await startAbuseStack();
});
after(() => stack.close());

function relayTunnelOptions() {
  return {
    relayUrl: `tls://relay.localhost:${stack.relay.port}`,
    connectTo: { host: '127.0.0.1', port: stack.relay.port },
    relayCaPem: stack.relay.caPem,
    proxy: false as const,
    helloTimeoutMs: 3000,
  };
}

/** HTTPS through the relay to `servername`, trusting `caPem`, presenting `client`. */
function agentRequest(options: {
  servername: string;
  caPem: string;
  client: { certPem: string; keyPem: string };
}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: stack.relay.port,
        path: '/mcp',
        method: 'POST',
        servername: options.servername,
        ca: options.caPem,
        cert: options.client.certPem,
        key: options.client.keyPem,
        agent: false,
        headers: { host: options.servername, 'content-type': 'application/json', accept: 'application/json' },
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
    req.end('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}');
  });
}

describe('SNI', () => {
  it('names that are not exactly <tenant>.<domain> are refused with unrecognized_name', async () => {
    for (const servername of [
      'acme.globex.localhost',
      'globex.localhost.evil.example',
      'evilglobex.localhost',
      'globex-localhost',
    ]) {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: stack.relay.port,
        servername,
        rejectUnauthorized: false,
      });
      const err = await new Promise<Error>((resolve) => socket.once('error', resolve));
      assert.match(err.message, /unrecognized name|alert number 112/i, servername);
      socket.destroy();
    }
  });

  it("globex's hostname while pinning acme's CA fails the handshake: globex's key answers, not acme's", async () => {
    const acme = stack.tenant('acme');
    const globex = stack.tenant('globex');
    await assert.rejects(
      agentRequest({ servername: globex.host, caPem: acme.agent.caPem, client: acme.agent }),
      /self[- ]signed|unable to verify|certificate/i,
    );
  });
});

describe('certificates', () => {
  it("acme's agent certificate at globex's connector is refused as a foreign certificate", async () => {
    const acme = stack.tenant('acme');
    const globex = stack.tenant('globex');
    const res = await agentRequest({
      servername: globex.host,
      caPem: globex.agent.caPem,
      client: acme.agent,
    });
    assert.equal(res.status, 401);
    assert.match(res.body, /AIRLOCK_IDENTITY_FOREIGN_CERT/);
  });

  it("an acme connector credential only ever receives acme's streams, never globex's", async () => {
    const rogue = await rogueCredential(stack, 'acme');
    const seen: string[] = [];
    const tunnel = await dialTunnel({
      ...relayTunnelOptions(),
      credential: rogue,
      connectorId: rogue.connectorId,
      slot: 0,
      onStream: (stream, meta) => {
        seen.push(meta.sni);
        stream.destroy();
      },
    });
    try {
      for (let i = 0; i < 5; i++) assert.equal(await echoThrough(stack, 'globex', `g${i}`), `g${i}`);
      assert.ok(!seen.some((sni) => sni.startsWith('globex')), `rogue saw ${seen.join(',')}`);
    } finally {
      tunnel.destroy();
    }
  });

  it("an acme credential whose hello claims globex's connector id is refused (HELLO_INVALID)", async () => {
    const rogue = await rogueCredential(stack, 'acme');
    const globexConnector = stack.relay.tunnels().find((t) => t.tenant === 'globex')?.connectorId;
    assert.ok(globexConnector);
    await assert.rejects(
      dialTunnel({
        ...relayTunnelOptions(),
        credential: rogue,
        connectorId: globexConnector,
        slot: 0,
        onStream: () => {},
      }),
      (err: { code?: string }) => err.code === TunnelCodes.HELLO_INVALID,
    );
  });

  it('a connector certificate from a CA other than the relay’s is refused (CERT_REJECTED), whatever it claims', async () => {
    const forgerCa = await createCertificateAuthority({ commonName: 'forger' });
    const forged = await issueClientCertificate(forgerCa, {
      commonName: 'con_forged',
      uris: [connectorUri('globex', 'con_forged')],
    });
    let tunnel: TunnelConnection | undefined;
    await assert.rejects(
      (async () => {
        tunnel = await dialTunnel({
          ...relayTunnelOptions(),
          credential: { certPem: forged.certPem, keyPem: forged.keyPem },
          connectorId: 'con_forged',
          slot: 0,
          onStream: () => {},
        });
      })(),
      (err: { code?: string }) => err.code === TunnelCodes.CERT_REJECTED,
    );
    tunnel?.destroy();
    assert.ok(!stack.relay.tunnels().some((t) => t.connectorId === 'con_forged'));
  });
});

describe('enrollment tokens', () => {
  async function enroll(
    body: Record<string, unknown>,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const socket = await dialRelayHost({
      port: stack.relay.port,
      caPem: stack.relay.caPem,
      alpn: ['http/1.1'],
    });
    const inbound = collect(socket);
    const text = JSON.stringify(body);
    socket.write(
      `POST /v1/enroll HTTP/1.1\r\nHost: relay.localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
    await closedWithin(socket, 5000);
    const raw = inbound.bytes().toString('utf8');
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1] ?? 0);
    return { status, json: JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown> };
  }

  it('the token decides the tenant: a request naming another tenant still enrolls for the token’s', async () => {
    const csr = await createCsr(await generateKeyPair(), 'rogue');
    const token = await stack.relay.createEnrollmentToken('globex');
    const res = await enroll({ token, csr, tenant: 'acme', tenantHost: 'acme.localhost' });
    assert.equal(res.status, 200);
    assert.equal(res.json.tenant, 'globex');
    assert.equal(res.json.tenantHost, 'globex.localhost');
    assert.match(String(res.json.certPem), /BEGIN CERTIFICATE/);
  });

  it('a token works once; a used, unknown or tampered token is refused with its code', async () => {
    const csr = await createCsr(await generateKeyPair(), 'rogue');
    const token = await stack.relay.createEnrollmentToken('acme');
    assert.equal((await enroll({ token, csr })).status, 200);
    const reused = await enroll({ token, csr });
    assert.equal(reused.status, 401);
    assert.equal((reused.json.error as { code: string }).code, 'AIRLOCK_ENROLL_TOKEN_USED');
    const fresh = await stack.relay.createEnrollmentToken('acme');
    const tampered = `${fresh.slice(0, -2)}${fresh.endsWith('aa') ? 'bb' : 'aa'}`;
    const bad = await enroll({ token: tampered, csr });
    assert.equal(bad.status, 401);
    assert.equal((bad.json.error as { code: string }).code, 'AIRLOCK_ENROLL_TOKEN_UNKNOWN');
    const unknown = await enroll({ token: 'alk_nope.nope', csr });
    assert.equal(unknown.status, 401);
  });

  it('neither tenant is disturbed by any of the above', async () => {
    assert.equal(await echoThrough(stack, 'acme', 'acme ok'), 'acme ok');
    assert.equal(await echoThrough(stack, 'globex', 'globex ok'), 'globex ok');
    await until(
      () => stack.relay.tunnels().filter((t) => t.tenant === 'globex').length >= 1,
      3000,
      'globex tunnels',
    );
  });
});
