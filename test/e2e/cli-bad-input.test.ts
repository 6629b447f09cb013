/** Bad input at the command line gets a clear error naming file, line and what was expected. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './cli-process.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a typo in the connector config is reported with file, line and a suggestion; exit code 2', async () => {
  const file = join(dir, 'connector.yaml');
  await writeFile(
    file,
    [
      'tenantHost: acme.localhost',
      'upstreams:',
      '  erp:',
      '    comand: node',
      '    args: [server.js]',
      '',
    ].join('\n'),
  );
  const err = await runCli(['connector', 'run', '--config', file]).then(
    () => assert.fail('expected a failure'),
    (e: { code: number; err: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.match(err.err, /connector\.yaml:4/);
  assert.match(err.err, /comand/);
  assert.match(err.err, /command/);
});

test('a wrong type in the relay config names the field and the line', async () => {
  const file = join(dir, 'relay.yaml');
  await writeFile(file, ['domain: example.com', 'limits:', '  clientHelloTimeoutMs: soon', ''].join('\n'));
  const err = await runCli(['relay', '--config', file]).then(
    () => assert.fail('expected a failure'),
    (e: { code: number; err: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.match(err.err, /relay\.yaml:3/);
  assert.match(err.err, /clientHelloTimeoutMs/);
});

test('a used enrollment token is refused with a clear error and stable code', async () => {
  const relayDir = join(dir, 'relay-data');
  const out = await runCli(['tenant', 'add', 'acme', '--data-dir', relayDir]);
  assert.match(out, /acme\.localhost/);
  const token = out.trim().split('\n').pop() ?? '';
  assert.match(token, /^alk_[0-9a-f]{16}\./);
  const list = await runCli(['tenant', 'list', '--data-dir', relayDir]);
  // No relay runs on the default admin port here: the online state is reported as unknown, not guessed.
  assert.match(list, /^acme\tacme\.localhost\t0 connector\(s\)\t(relay not reachable|offline)/m);
  const bad = await runCli(['tenant', 'add', 'Not_A_Label', '--data-dir', relayDir]).then(
    () => assert.fail('expected a failure'),
    (e: { code: number; err: string }) => e,
  );
  assert.equal(bad.code, 1);
  assert.match(bad.err, /AIRLOCK_RELAY_TENANT_INVALID/);
});

test('identity revoke-subject records a revoked OAuth subject, and --reinstate lifts it', async () => {
  const { openStore } = await import('../../src/store/open-store.js');
  const file = join(dir, 'standalone.yaml');
  const dataDir = join(dir, 'standalone');
  await writeFile(
    file,
    ['tenantHost: acme.localhost', `dataDir: ${dataDir}`, 'upstreams:', '  e:', '    command: node', ''].join(
      '\n',
    ),
  );
  const args = ['--config', file, '--issuer', 'https://idp.example', '--subject', 'user-42'];
  assert.match(
    await runCli(['identity', 'revoke-subject', ...args]),
    /revoked https:\/\/idp\.example user-42/,
  );
  let store = await openStore({ url: `sqlite:${join(dataDir, 'airlock.db')}` });
  assert.equal(await store.identities.isSubjectRevoked('https://idp.example', 'user-42'), true);
  await store.close();
  assert.match(await runCli(['identity', 'revoke-subject', ...args, '--reinstate']), /reinstated/);
  store = await openStore({ url: `sqlite:${join(dataDir, 'airlock.db')}` });
  assert.equal(await store.identities.isSubjectRevoked('https://idp.example', 'user-42'), false);
  await store.close();
});
