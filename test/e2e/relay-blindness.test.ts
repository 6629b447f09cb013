/**
 * The relay is blind, proven on the relay PROCESS: `airlock relay` runs as a separate process (and so
 * does `airlock connector run`), real agents push canary payloads through it, then the test reads the
 * relay process's memory (/proc/<pid>/mem) and finds 0 occurrences of the canary and of the tenant's
 * private keys (DER, and every line of their PEM body). A positive control proves the scan works: the
 * tenant host name and the relay's own server key (which the relay does hold) are found.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import { everythingUpstream } from './airlock-stack.js';
import { type CliStack, startCliStack } from './cli-process.js';
import { scanProcessMemory } from './process-memory.js';

const CANARY = 'CANARY-7f3a9c21-do-not-leak-airlock';
const ROUNDS = 5;

let stack: CliStack;

before(async () => {
  stack = await startCliStack({}, { everything: everythingUpstream() });
});
after(() => stack?.close());

/** The 64-character lines of a PEM body (any one found in memory would be a leak). */
function pemLines(pem: string): Buffer[] {
  return pem
    .split('\n')
    .filter((line) => line.length === 64 && !line.startsWith('-----'))
    .map((line) => Buffer.from(line));
}

function der(keyPem: string): Buffer {
  return createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
}

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
  const relayKey = await readFile(join(stack.dir, 'relay', 'identity', 'server.key'), 'utf8');
  const secrets: Array<[string, Buffer]> = [
    ['canary (utf8)', Buffer.from(CANARY, 'utf8')],
    ['canary (utf16le)', Buffer.from(CANARY, 'utf16le')],
  ];
  tenantKeys.forEach((pem, k) => {
    secrets.push([`tenant key ${k} (DER)`, der(pem)]);
    for (const line of pemLines(pem)) secrets.push([`tenant key ${k} (PEM line)`, line]);
  });
  const controls: Array<[string, Buffer]> = [
    ['tenant host', Buffer.from('acme.localhost')],
    ['relay server key (PEM line)', pemLines(relayKey)[0] ?? Buffer.alloc(0)],
  ];
  assert.ok(secrets.length > 6 && (controls[1]?.[1].length ?? 0) === 64);
  const pid = stack.relay.child.pid;
  assert.ok(pid !== undefined);
  const needles = [...secrets, ...controls];
  const { counts, scanned } = await scanProcessMemory(
    pid,
    needles.map(([, bytes]) => bytes),
  );
  assert.ok(scanned > 10 * 1024 * 1024, `scanned only ${scanned} bytes`);
  needles.forEach(([name], i) => {
    if (i < secrets.length) assert.equal(counts[i], 0, `${name} found in the relay's memory`);
    else assert.ok((counts[i] ?? 0) > 0, `positive control "${name}" not found: the scan does not work`);
  });
});
