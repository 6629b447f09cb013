/** `airlock init relay|connector` writes commented configs that the real loaders accept. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { loadRelayConfig } from '../../src/relay/relay-from-config.js';
import { runCli } from '../e2e/cli-process.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-init-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('init relay: loads with the relay loader, with the given domain and secure defaults', async () => {
  const file = join(dir, 'relay.yaml');
  const out = await runCli([
    'init',
    'relay',
    '--out',
    file,
    '--domain',
    'airlock.test',
    '--data-dir',
    join(dir, 'relay'),
  ]);
  assert.match(out, /wrote /);
  const text = await readFile(file, 'utf8');
  assert.match(text, /^# /m, 'commented');
  const loaded = await loadRelayConfig(file);
  assert.equal(loaded.config.domain, 'airlock.test');
  assert.equal(loaded.config.admin.listen, '127.0.0.1:9090', 'admin on loopback');
  assert.equal((await stat(file)).mode & 0o007, 0, 'not readable by others');
});

test('init connector: loads with the connector loader; admin on loopback; one upstream', async () => {
  const file = join(dir, 'connector.yaml');
  await runCli([
    'init',
    'connector',
    '--out',
    file,
    '--relay-url',
    'tls://relay.airlock.test:443',
    '--data-dir',
    'state',
  ]);
  const ctx = await loadConnectorContext(file);
  assert.equal(ctx.config.relay?.url, 'tls://relay.airlock.test:443');
  assert.equal(ctx.config.admin.listen, '127.0.0.1:7070');
  assert.equal(ctx.dataDir, join(dir, 'state'));
  assert.deepEqual(Object.keys(ctx.config.upstreams), ['wiki']);
  assert.match(await readFile(file, 'utf8'), /# {3}sandbox:\n {2}# {5}mode: required/);
});

test('init never overwrites an existing file unless --force', async () => {
  const file = join(dir, 'mine.yaml');
  await writeFile(file, 'my: config\n');
  await assert.rejects(runCli(['init', 'connector', '--out', file]), (err: { err?: string }) => {
    assert.match(err.err ?? '', /AIRLOCK_CLI_FILE_EXISTS/);
    return true;
  });
  assert.equal(await readFile(file, 'utf8'), 'my: config\n');
  await runCli(['init', 'connector', '--out', file, '--force']);
  assert.match(await readFile(file, 'utf8'), /^upstreams:/m);
});

test('--out - prints the config', async () => {
  const out = await runCli(['init', 'relay', '--out', '-']);
  assert.match(out, /^domain: airlock\.example\.com$/m);
});
