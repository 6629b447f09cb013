/**
 * `airlock connector add | enroll --binding | list` with real processes: an enrollment token alone
 * (a fresh connector with its own CA) cannot join a tenant whose CA is pinned; a binding from
 * `connector add` on the existing connector can; `connector list` shows every connector with its state.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { everythingUpstream } from './airlock-stack.js';
import { type CliStack, runCli, startCliStack } from './cli-process.js';

let stack: CliStack;
before(async () => {
  stack = await startCliStack({}, { everything: everythingUpstream() });
});
after(() => stack?.close());

async function newConnectorConfig(name: string): Promise<string> {
  const file = join(stack.dir, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      dataDir: join(stack.dir, name),
      relay: {
        url: `tls://relay.localhost:${stack.relayPort}`,
        connect: `127.0.0.1:${stack.relayPort}`,
        caFile: join(stack.dir, 'relay', 'identity', 'ca.pem'),
      },
      upstreams: { everything: everythingUpstream() },
    }),
  );
  return file;
}

async function token(): Promise<string> {
  return (await runCli(['tenant', 'token', 'acme', '--data-dir', join(stack.dir, 'relay')])).trim();
}

interface Listed {
  tenant: string;
  connectors: Array<{ id: string; state: string; bound: boolean }>;
}

async function list(configFile: string): Promise<Listed> {
  return JSON.parse(await runCli(['connector', 'list', '--config', configFile, '--json'])) as Listed;
}

test('a token alone cannot add a connector; a binding from `connector add` can; `connector list` shows both', async () => {
  const before = await list(stack.configFile);
  assert.deepEqual(
    before.connectors.map((c) => c.state),
    ['online'],
  );

  const stranger = await newConnectorConfig('stranger');
  await assert.rejects(
    runCli(['connector', 'enroll', '--config', stranger, '--token', await token()]),
    (err: { err?: string }) => /AIRLOCK_ENROLL_BINDING_INVALID/.test(err.err ?? ''),
  );

  const bindingDir = join(stack.dir, 'binding');
  await runCli(['connector', 'add', '--config', stack.configFile, '--out', bindingDir]);
  const second = await newConnectorConfig('second');
  const enrolled = await runCli([
    'connector',
    'enroll',
    '--config',
    second,
    '--token',
    await token(),
    '--binding',
    bindingDir,
  ]);
  assert.match(enrolled, /enrolled as connector con_/);

  const after = await list(second);
  assert.equal(after.tenant, 'acme');
  const states = after.connectors.map((c) => c.state).sort();
  assert.deepEqual(states, ['offline', 'online'], 'the running first connector and the enrolled second one');
  assert.ok(after.connectors.every((c) => c.bound));
});
