/**
 * Upstream tokens minted by the connector: the signing key lives in the data directory (created once,
 * mode 0600, reloaded), tokens carry iss/aud/sub/act/sub_id and live at most 5 minutes, the JWKS
 * (served over loopback HTTP, as the admin port would) verifies them, and a real HTTP upstream reached
 * through the real `Upstream` receives exactly the minted token, only for the request it was minted for.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { IdentityError } from '../../src/errors/airlock-error.js';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import {
  fetchWithUpstreamHeaders,
  runWithUpstreamHeaders,
} from '../../src/identity/upstream-token-context.js';
import {
  loadOrCreateUpstreamTokenKey,
  MAX_UPSTREAM_TOKEN_TTL_SEC,
  UPSTREAM_TOKEN_KEY_FILE,
  UpstreamTokenMinter,
} from '../../src/identity/upstream-token-minter.js';
import { Upstream } from '../../src/mcp/upstream.js';
import { type RecordingUpstream, startRecordingUpstream } from './upstream-token-recorder.js';

const ISSUER = 'https://acme.relay.test';
const IDP = 'https://idp.acme.test';
const mtlsAgent: GatewayIdentity = {
  name: 'claims-bot',
  spiffeId: 'spiffe://acme.relay.test/agent/claims-bot',
  certSerial: '4a01',
  authenticatedBy: 'mtls',
};
const alice = { subject: 'alice', issuer: IDP };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-upstream-token-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('upstream token key', () => {
  it('is created once in the data directory (mode 0600) and reloaded with the same kid', async () => {
    const keyDir = join(dir, 'ed');
    const first = await loadOrCreateUpstreamTokenKey(keyDir);
    assert.equal(first.alg, 'EdDSA');
    assert.equal((await stat(join(keyDir, UPSTREAM_TOKEN_KEY_FILE))).mode & 0o777, 0o600);
    const again = await loadOrCreateUpstreamTokenKey(keyDir);
    assert.equal(again.kid, first.kid);
    assert.deepEqual(again.publicJwk, first.publicJwk);
    assert.equal(first.publicJwk.d, undefined, 'the published JWK has no private part');
    assert.equal(first.publicJwk.use, 'sig');
    const [a, b] = await Promise.all([
      loadOrCreateUpstreamTokenKey(join(dir, 'race')),
      loadOrCreateUpstreamTokenKey(join(dir, 'race')),
    ]);
    assert.equal(a?.kid, b?.kid, 'two concurrent first uses agree on one key');
  });

  it('ES256 works too; a foreign or broken key file is refused', async () => {
    const es = await loadOrCreateUpstreamTokenKey(join(dir, 'es'), 'ES256');
    assert.equal(es.publicJwk.crv, 'P-256');
    const broken = join(dir, 'broken');
    await loadOrCreateUpstreamTokenKey(broken);
    await writeFile(join(broken, UPSTREAM_TOKEN_KEY_FILE), '{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}');
    await assert.rejects(
      loadOrCreateUpstreamTokenKey(broken),
      (e: unknown) => e instanceof IdentityError && e.code === 'AIRLOCK_UPSTREAM_TOKEN_KEY',
    );
    await writeFile(join(broken, UPSTREAM_TOKEN_KEY_FILE), 'not json');
    await assert.rejects(
      loadOrCreateUpstreamTokenKey(broken),
      (e: unknown) => e instanceof IdentityError && e.code === 'AIRLOCK_UPSTREAM_TOKEN_KEY',
    );
  });
});

describe('minted tokens', () => {
  it('carry iss, aud = upstream, sub = end user, act = agent, sub_id, and verify with the JWKS', async () => {
    const minter = await UpstreamTokenMinter.open({ dataDir: join(dir, 'm1'), issuer: ISSUER });
    const token = await minter.mint({ upstream: 'erp', agent: mtlsAgent, endUser: alice });
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.kid, minter.jwks().keys[0]?.kid);
    const { payload } = await jwtVerify(token, createLocalJWKSet(minter.jwks()), {
      issuer: ISSUER,
      audience: 'erp',
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, 'alice');
    assert.deepEqual(payload.act, { sub: mtlsAgent.spiffeId });
    assert.deepEqual(payload.sub_id, { format: 'iss_sub', iss: IDP, sub: 'alice' });
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 120);
    assert.ok(typeof payload.jti === 'string');
    await assert.rejects(jwtVerify(token, createLocalJWKSet(minter.jwks()), { audience: 'crm' }));
  });

  it('a bearer agent is named with its issuer; the token never outlives the agent or user token', async () => {
    const now = Date.now();
    const minter = await UpstreamTokenMinter.open({ dataDir: join(dir, 'm2'), issuer: ISSUER, ttlSec: 300 });
    const agent: GatewayIdentity = {
      name: 'vendor-agent',
      spiffeId: '',
      certSerial: '',
      authenticatedBy: 'bearer',
      subject: 'vendor-agent',
      issuer: IDP,
      expiresAt: now + 60_000,
    };
    const token = await minter.mint({
      upstream: 'erp',
      agent,
      endUser: { ...alice, expiresAt: now + 90_000 },
    });
    const { payload } = await jwtVerify(token, createLocalJWKSet(minter.jwks()), { audience: 'erp' });
    assert.deepEqual(payload.act, { sub: 'vendor-agent', iss: IDP });
    assert.equal(payload.exp, Math.floor((now + 60_000) / 1000), 'capped by the agent token');
  });
});

describe('minted tokens: lifetime and headers', () => {
  it('lifetime is at most 5 minutes; tokens are reused within half their lifetime only', async () => {
    const key = await loadOrCreateUpstreamTokenKey(join(dir, 'm3'));
    assert.throws(
      () => new UpstreamTokenMinter({ issuer: ISSUER, key, ttlSec: MAX_UPSTREAM_TOKEN_TTL_SEC + 1 }),
      (e: unknown) => e instanceof IdentityError && e.code === 'AIRLOCK_UPSTREAM_TOKEN_CONFIG',
    );
    let clock = 1_800_000_000_000;
    const minter = new UpstreamTokenMinter({ issuer: ISSUER, key, ttlSec: 100, now: () => clock });
    const first = await minter.mint({ upstream: 'erp', agent: mtlsAgent, endUser: alice });
    clock += 40_000;
    assert.equal(await minter.mint({ upstream: 'erp', agent: mtlsAgent, endUser: alice }), first);
    assert.notEqual(await minter.mint({ upstream: 'crm', agent: mtlsAgent, endUser: alice }), first);
    assert.notEqual(
      await minter.mint({ upstream: 'erp', agent: mtlsAgent, endUser: { subject: 'bob', issuer: IDP } }),
      first,
    );
    clock += 20_000;
    assert.notEqual(await minter.mint({ upstream: 'erp', agent: mtlsAgent, endUser: alice }), first);
  });

  it('mintUpstreamHeaders: nothing without an end user (unless configured), Bearer by default, or a custom header', async () => {
    const key = await loadOrCreateUpstreamTokenKey(join(dir, 'm4'));
    const minter = new UpstreamTokenMinter({ issuer: ISSUER, key });
    assert.deepEqual(await minter.mintUpstreamHeaders({ identity: mtlsAgent }, 'erp'), {});
    assert.deepEqual(await minter.mintUpstreamHeaders({ identity: undefined, endUser: alice }, 'erp'), {});
    const headers = await minter.mintUpstreamHeaders({ identity: mtlsAgent, endUser: alice }, 'erp');
    assert.match(headers.authorization ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const agentOnly = new UpstreamTokenMinter({
      issuer: ISSUER,
      key,
      mintWithoutEndUser: true,
      header: 'X-Airlock-User',
    });
    const own = await agentOnly.mintUpstreamHeaders({ identity: mtlsAgent }, 'erp');
    const { payload } = await jwtVerify(own['x-airlock-user'] ?? '', createLocalJWKSet(agentOnly.jwks()), {
      audience: 'erp',
    });
    assert.equal(payload.sub, mtlsAgent.spiffeId);
    assert.equal(payload.act, undefined);
  });
});

describe('minted token on the wire to a real HTTP upstream', () => {
  let recorder: RecordingUpstream;
  let jwksServer: Server;
  let jwksUrl: string;
  let minter: UpstreamTokenMinter;

  before(async () => {
    recorder = await startRecordingUpstream();
    minter = await UpstreamTokenMinter.open({ dataDir: join(dir, 'wire'), issuer: ISSUER, alg: 'ES256' });
    // What the connector's admin port serves (the lead mounts `minter.jwks()`).
    jwksServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(minter.jwks()));
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  after(async () => {
    await recorder.close();
    jwksServer.closeAllConnections();
    await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
  });

  it('the upstream receives the minted token for that request only, and can verify it via the JWKS', async () => {
    const upstream = new Upstream(
      { name: 'erp', kind: 'http', url: recorder.url, headers: { 'x-upstream-key': 'k' } },
      { fetch: fetchWithUpstreamHeaders() },
    );
    try {
      await upstream.start();
      const headers = await minter.mintUpstreamHeaders({ identity: mtlsAgent, endUser: alice }, 'erp');
      const mark = recorder.requests.length;
      const [withUser, without] = await Promise.all([
        runWithUpstreamHeaders(headers, () =>
          upstream.request('tools/call', { name: 'whoami', arguments: { who: 'alice' } }),
        ),
        upstream.request('tools/call', { name: 'whoami', arguments: { who: 'nobody' } }),
      ]);
      assert.deepEqual(withUser.content, [{ type: 'text', text: 'called whoami' }]);
      assert.deepEqual(without.content, [{ type: 'text', text: 'called whoami' }]);
      const calls = recorder.requests.slice(mark).filter((r) => r.method === 'POST');
      assert.equal(calls.length, 2);
      const authorized = calls.filter((r) => r.headers.authorization !== undefined);
      assert.equal(authorized.length, 1, 'only the request run with the headers carries the token');
      assert.equal(authorized[0]?.headers.authorization, headers.authorization);
      assert.ok(calls.every((r) => r.headers['x-upstream-key'] === 'k'));
      const token = (headers.authorization ?? '').replace(/^Bearer /, '');
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl)), {
        issuer: ISSUER,
        audience: 'erp',
      });
      assert.equal(payload.sub, 'alice');
      assert.deepEqual(payload.act, { sub: mtlsAgent.spiffeId });
      // The key file never leaves the data directory: the JWKS holds only the public part.
      const stored = JSON.parse(await readFile(join(dir, 'wire', UPSTREAM_TOKEN_KEY_FILE), 'utf8')) as {
        d?: string;
      };
      assert.ok(stored.d && !JSON.stringify(minter.jwks()).includes(stored.d));
    } finally {
      await upstream.close();
    }
  });
});
