/**
 * createUndiciFetch over TLS to an upstream with a private CA made in the test: trusted with the `ca`
 * option, or (as the global fetch is today) through NODE_EXTRA_CA_CERTS; refused without the CA, and
 * refused for a server whose certificate another CA issued.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type CertifiedKey,
  createCertificateAuthority,
  issueServerCertificate,
} from '../../src/identity/pki.js';
import { createUndiciFetch } from '../../src/net/undici-fetch.js';

const run = promisify(execFile);
const MODULE = new URL('../../src/net/undici-fetch.js', import.meta.url).href;
const POST = { method: 'POST', body: '{"jsonrpc":"2.0"}', redirect: 'manual' } as const;

async function tlsServer(ca: CertifiedKey): Promise<{ server: Server; url: string }> {
  const cert = await issueServerCertificate(ca, {
    commonName: 'upstream',
    dnsNames: ['upstream.test'],
    ipAddresses: ['127.0.0.1'],
  });
  const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ tls: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

/** The code of the TLS error under a fetch failure. */
function tlsCode(err: unknown): string {
  assert.ok(err instanceof TypeError, 'a TypeError, as the upstream classifier expects');
  return String((err.cause as { code?: string } | undefined)?.code);
}

describe('createUndiciFetch over TLS with a private CA', () => {
  let ca: CertifiedKey;
  let upstream: { server: Server; url: string };
  let impostor: { server: Server; url: string };
  let dir: string;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'upstream test CA' });
    upstream = await tlsServer(ca);
    impostor = await tlsServer(await createCertificateAuthority({ commonName: 'someone else' }));
    dir = await mkdtemp(join(tmpdir(), 'undici-fetch-tls-'));
  });
  after(async () => {
    for (const s of [upstream.server, impostor.server]) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('trusts the CA given as `ca`', async () => {
    const f = createUndiciFetch({ ca: ca.certPem });
    try {
      const res = await f(upstream.url, POST);
      assert.deepEqual(await res.json(), { tls: true });
    } finally {
      await f.close();
    }
  });

  it('refuses the upstream without its CA, and a server whose certificate another CA issued', async () => {
    const systemRoots = createUndiciFetch();
    const pinned = createUndiciFetch({ ca: ca.certPem });
    try {
      await assert.rejects(systemRoots(upstream.url, POST), (err) => {
        assert.match(tlsCode(err), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
        return true;
      });
      await assert.rejects(pinned(impostor.url, POST), (err) => {
        assert.match(tlsCode(err), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
        return true;
      });
    } finally {
      await systemRoots.close();
      await pinned.close();
    }
  });

  it('trusts a CA from NODE_EXTRA_CA_CERTS, as the global fetch does (how private CAs are set today)', async () => {
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, ca.certPem);
    const script = `
      const { createUndiciFetch } = await import(${JSON.stringify(MODULE)});
      const f = createUndiciFetch();
      const init = ${JSON.stringify(POST)};
      const mine = await f(${JSON.stringify(upstream.url)}, init);
      const theirs = await fetch(${JSON.stringify(upstream.url)}, init);
      console.log(mine.status, JSON.stringify(await mine.json()), theirs.status);
      await f.close();`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    });
    assert.equal(stdout.trim(), '200 {"tls":true} 200');
  });
});
