/**
 * Every agent-side failure becomes a stable code and a hint, proven through the real `airlock bridge`
 * process (and `airlock doctor agent`) against a real relay and connector on loopback.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectToTenant, TenantFailureError } from '../../src/agent/index.js';
import { createCertificateAuthority, issueClientCertificate } from '../../src/identity/pki.js';
import { issueAgentIdentity, revokeAgentIdentity } from '../../src/identity/tenant-pki.js';
import { everythingUpstream, type Stack, startStack } from '../e2e/airlock-stack.js';
import { CLI } from '../e2e/cli-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with stdin kept open (a bridge would serve it) and waits for it to exit. */
async function run(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface World {
  stack: Stack;
  dir: string;
  /** The identity files by name: ca.pem, agent.pem/.key, other-ca.pem, foreign.pem/.key, revoked.pem/.key. */
  files: Record<string, string>;
  url: string;
  relay: string;
}

/** The stack and, in a temporary directory, the good, foreign and revoked identity files. */
async function startWorld(): Promise<World> {
  const stack = await startStack({ upstreams: () => ({ everything: everythingUpstream() }) });
  const dir = await mkdtemp(join(tmpdir(), 'airlock-failures-'));
  const world = {
    stack,
    dir,
    files: {},
    url: stack.tenant('acme').url,
    relay: `127.0.0.1:${stack.relay.port}`,
  };
  try {
    world.files = await writeIdentityFiles(stack, dir);
  } catch (err) {
    await closeWorld(world);
    throw err;
  }
  return world;
}

async function closeWorld(world: World | undefined): Promise<void> {
  await world?.stack.close();
  if (world) await rm(world.dir, { recursive: true, force: true });
}

async function writeIdentityFiles(stack: Stack, dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const acme = stack.tenant('acme');
  const foreignCa = await createCertificateAuthority({ commonName: 'another tenant CA' });
  const foreign = await issueClientCertificate(foreignCa, {
    commonName: 'agent-1',
    uris: [`spiffe://${acme.host}/agent/agent-1`],
  });
  const revoked = await issueAgentIdentity(
    acme.connector.pki,
    acme.connector.store,
    'agent-2',
    join(dir, 'agents'),
  );
  await revokeAgentIdentity(acme.connector.store, 'agent-2');
  const write = async (name: string, text: string) => {
    files[name] = join(dir, name);
    await writeFile(files[name], text);
  };
  await write('ca.pem', acme.agent.caPem);
  await write('agent.pem', acme.agent.certPem);
  await write('agent.key', acme.agent.keyPem);
  await write('other-ca.pem', foreignCa.certPem);
  await write('foreign.pem', foreign.certPem);
  await write('foreign.key', foreign.keyPem);
  files['revoked.pem'] = revoked.certFile;
  files['revoked.key'] = revoked.keyFile;
  return files;
}

let world: World;

before(async () => {
  world = await startWorld();
});

after(() => closeWorld(world));

/** `airlock bridge` with the good identity, but for what `over` replaces. */
function bridge(over: { url?: string; ca?: string; cert?: string; key?: string; connect?: string }) {
  const { files } = world;
  const args = ['bridge', '--url', over.url ?? world.url, '--ca', over.ca ?? files['ca.pem'] ?? ''];
  const cert = over.cert ?? files['agent.pem'];
  const key = over.key ?? files['agent.key'];
  if (cert && key) args.push('--cert', cert, '--key', key);
  args.push('--connect', over.connect ?? world.relay);
  return run(args);
}

/** `airlock doctor agent` against `url` (the tenant's by default), with a client certificate if given. */
function doctorAgent(over: { url?: string; cert?: string; key?: string }) {
  const args = ['doctor', 'agent', '--url', over.url ?? world.url, '--ca', world.files['ca.pem'] ?? ''];
  if (over.cert !== undefined) args.push('--cert', over.cert, '--key', over.key ?? '');
  args.push('--connect', world.relay);
  return run(args);
}

function expectFailure(r: Run, code: string, hint: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
  assert.match(r.stderr, /\n {2}hint: /, r.stderr);
  assert.match(r.stderr, hint, r.stderr);
  assert.doesNotMatch(r.stderr, /unexpected failure|fetch failed|\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '', 'nothing reaches the desktop client on stdout');
}

describe('agent failures: stable code and hint through airlock bridge', () => {
  test('a name that does not resolve: AIRLOCK_AGENT_DNS_FAILED', async () => {
    const r = await bridge({ connect: 'relay.airlock-test.invalid:443' });
    expectFailure(r, 'AIRLOCK_AGENT_DNS_FAILED', /Cannot resolve relay\.airlock-test\.invalid/);
  });

  test('nothing listening: AIRLOCK_AGENT_CONNECTION_REFUSED', async () => {
    const r = await bridge({ connect: `127.0.0.1:${await closedPort()}` });
    expectFailure(r, 'AIRLOCK_AGENT_CONNECTION_REFUSED', /relay is running/);
  });

  test('a pinned CA that is not the tenant’s: AIRLOCK_AGENT_CA_MISMATCH', async () => {
    const r = await bridge({ ca: world.files['other-ca.pem'] });
    expectFailure(r, 'AIRLOCK_AGENT_CA_MISMATCH', /pin the tenant CA/);
  });

  test('the relay’s unrecognized_name alert: unknown tenant or no connector online', async () => {
    const r = await bridge({ url: `https://nobody.localhost:${world.stack.relay.port}/mcp` });
    expectFailure(r, 'AIRLOCK_AGENT_TENANT_UNAVAILABLE', /unknown tenant or no connector online/);
  });

  test('a certificate from another tenant’s CA: 401 with the connector’s reason', async () => {
    const r = await bridge({ cert: world.files['foreign.pem'], key: world.files['foreign.key'] });
    expectFailure(r, 'AIRLOCK_AGENT_REFUSED', /another tenant's CA/);
    assert.match(r.stderr, /HTTP 401, AIRLOCK_IDENTITY_FOREIGN_CERT/);
  });

  test('no client certificate, and a revoked one: the reason codes reach the agent', async () => {
    const none = await run([
      'bridge',
      '--url',
      world.url,
      '--ca',
      world.files['ca.pem'] ?? '',
      '--connect',
      world.relay,
    ]);
    expectFailure(none, 'AIRLOCK_AGENT_REFUSED', /--cert and --key/);
    assert.match(none.stderr, /AIRLOCK_IDENTITY_NO_CERT/);
    const revoked = await bridge({ cert: world.files['revoked.pem'], key: world.files['revoked.key'] });
    expectFailure(revoked, 'AIRLOCK_AGENT_REFUSED', /revoked/);
    assert.match(revoked.stderr, /AIRLOCK_IDENTITY_REVOKED/);
  });
});

describe('agent failures: the library and airlock doctor agent', () => {
  test('the library gives the same: TenantFailureError with code, reason and hint', async () => {
    const acme = world.stack.tenant('acme');
    await assert.rejects(
      connectToTenant({ ...acme.connection(), certPem: undefined, keyPem: undefined }),
      (err: unknown) => {
        assert.ok(err instanceof TenantFailureError);
        assert.equal(err.code, 'AIRLOCK_AGENT_REFUSED');
        assert.equal(err.reason, 'AIRLOCK_IDENTITY_NO_CERT');
        assert.equal(err.status, 401);
        assert.match(err.hint, /--cert/);
        return true;
      },
    );
  });

  test('airlock doctor agent: every step ok for a good identity; the failing step named otherwise', async () => {
    const good = await doctorAgent({
      cert: world.files['agent.pem'] ?? '',
      key: world.files['agent.key'] ?? '',
    });
    assert.equal(good.code, 0, good.stdout + good.stderr);
    for (const step of ['client certificate', 'resolve', 'connect', 'tls', 'clock', 'mcp']) {
      assert.match(good.stdout, new RegExp(`^ok +${step} `, 'm'), good.stdout);
    }
    const foreign = await doctorAgent({
      cert: world.files['foreign.pem'] ?? '',
      key: world.files['foreign.key'] ?? '',
    });
    assert.equal(foreign.code, 1);
    assert.match(foreign.stdout, /^FAIL client certificate .*not issued by the pinned CA/m);
    assert.match(foreign.stdout, /^FAIL mcp .*AIRLOCK_IDENTITY_FOREIGN_CERT/m);
    const offline = await doctorAgent({ url: `https://nobody.localhost:${world.stack.relay.port}/mcp` });
    assert.equal(offline.code, 1);
    assert.match(
      offline.stdout,
      /^FAIL tls .*\[AIRLOCK_AGENT_TENANT_UNAVAILABLE\] → unknown tenant or no connector online/m,
    );
    assert.match(offline.stdout, /^skip mcp /m);
  });
});
