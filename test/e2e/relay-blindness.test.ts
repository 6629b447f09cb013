/**
 * The relay is blind, proven on the relay PROCESS: `airlock relay` runs as a separate process (and so
 * does `airlock connector run`), real agents push canary payloads through it, then the test reads the
 * relay process's memory (/proc/<pid>/mem) and finds 0 occurrences of the canary and of the tenant's
 * private keys (DER, and every line of their PEM body). A positive control proves the scan works: the
 * tenant host name and the relay's own server key (which the relay does hold) are found.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import { everythingUpstream } from './airlock-stack.js';
import { type CliStack, startCliStack } from './cli-process.js';
import { assertRelayMemoryBlind } from './process-memory.js';

const CANARY = 'CANARY-7f3a9c21-do-not-leak-airlock';
const ROUNDS = 5;

let stack: CliStack;

before(async () => {
  stack = await startCliStack({}, { everything: everythingUpstream() });
});
after(() => stack?.close());

test('the relay process memory holds no canary and no tenant key, while it holds its own key', async () => {
  for (let i = 0; i < ROUNDS; i++) {
    const client = await connectToTenant(stack.conn, { name: 'blind', version: '1' });
    try {
      const message = `${CANARY}-${i} ${CANARY.repeat(20)}`;
      const result = (await client.callTool({ name: 'everything.echo', arguments: { message } })) as {
        content: Array<{ text?: string }>;
      };
      assert.equal(result.content[0]?.text, `Echo: ${message}`); // the canary made the trip in clear
    } finally {
      await client.close();
    }
  }
  const tenantDir = join(stack.dir, 'connector', 'tenant');
  const tenantKeys = [
    await readFile(join(tenantDir, 'server.key'), 'utf8'),
    await readFile(join(tenantDir, 'ca.key'), 'utf8'),
    stack.conn.keyPem ?? '',
  ];
  const pid = stack.relay.child.pid;
  assert.ok(pid !== undefined);
  await assertRelayMemoryBlind(pid, {
    canary: CANARY,
    tenantKeyPems: tenantKeys,
    relayKeyPem: await readFile(join(stack.dir, 'relay', 'identity', 'server.key'), 'utf8'),
    tenantHost: 'acme.localhost',
    who: 'the relay',
  });
});
