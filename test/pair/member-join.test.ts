/**
 * `connector add --bundle` / `connector join` refusals, before anything reaches the relay: a member
 * with its own SQLite store is not a pair member, a wrong passphrase writes nothing, a bundle without
 * a binding is refused, and an already enrolled data directory is not overwritten.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { saveCredential } from '../../src/connector/credential-files.js';
import { collectMemberBundle, sealMemberBundle } from '../../src/connector/pair/member-bundle.js';
import { joinMember, readPassphraseFile, writeMemberBundle } from '../../src/connector/pair/member-join.js';
import { ensureTenantPki } from '../../src/identity/tenant-pki.js';
import { loadOrCreateUpstreamTokenKey } from '../../src/identity/upstream-token-minter.js';
import { loadTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';

const PASSPHRASE = 'member join test passphrase';
const PG = 'postgres://postgres@127.0.0.1:5432/test?schema=pair_join_unit';
let root: string;

async function config(name: string, store?: string): Promise<string> {
  const file = join(root, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      dataDir: join(root, name),
      tenantHost: 'acme.relay.test',
      relay: { url: 'tls://relay.test:1' },
      upstreams: { erp: { url: 'http://127.0.0.1:1/mcp' } },
      ...(store ? { store } : {}),
    }),
  );
  return file;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'airlock-join-'));
  const first = join(root, 'first');
  await ensureTenantPki(join(first, 'tenant'), 'acme.relay.test');
  await loadTenantPiiKeys({ path: join(first, 'pii', 'vault-key.json'), tenant: 'acme', create: true });
  await loadOrCreateAuditKey(first);
  await loadOrCreateUpstreamTokenKey(first);
});
after(() => rm(root, { recursive: true, force: true }));

test('a connector on SQLite can neither make nor join a pair', async () => {
  const lone = await loadConnectorContext(await config('first'));
  await assert.rejects(writeMemberBundle(lone, join(root, 'x.age'), PASSPHRASE), {
    code: 'AIRLOCK_PAIR_STORE_NOT_SHARED',
  });
  await assert.rejects(
    joinMember(await config('solo'), { bundle: 'x', passphrase: PASSPHRASE, token: 't' }),
    {
      code: 'AIRLOCK_PAIR_STORE_NOT_SHARED',
    },
  );
});

test('a bundle opened with a wrong passphrase, or without a binding, writes nothing', async () => {
  const shared = await loadConnectorContext(await config('first', PG));
  const bundle = join(root, 'member.age');
  await writeMemberBundle(shared, bundle, PASSPHRASE);
  const joiner = await config('joiner', PG);
  await assert.rejects(joinMember(joiner, { bundle, passphrase: 'not the passphrase!!', token: 't' }), {
    code: 'AIRLOCK_BUNDLE_UNREADABLE',
  });
  await assert.rejects(readdir(join(root, 'joiner')), { code: 'ENOENT' });

  const unbound = join(root, 'unbound.age');
  await writeFile(
    unbound,
    await sealMemberBundle(await collectMemberBundle(shared.dataDir, 'acme.relay.test'), PASSPHRASE),
  );
  await assert.rejects(joinMember(joiner, { bundle: unbound, passphrase: PASSPHRASE, token: 't' }), {
    code: 'AIRLOCK_BUNDLE_NO_BINDING',
  });
  await assert.rejects(readdir(join(root, 'joiner')), { code: 'ENOENT' });
  // The bundle file is never overwritten by a second `add` (it holds the tenant CA key).
  await assert.rejects(writeMemberBundle(shared, bundle, PASSPHRASE), { code: 'EEXIST' });
});

test('an enrolled data directory is not taken over by a join', async () => {
  const file = await config('enrolled', PG);
  await saveCredential(join(root, 'enrolled'), {
    tenant: 'other',
    tenantHost: 'other.relay.test',
    connectorId: 'con_1',
    relayUrl: 'tls://relay.test:1',
    keyPem: 'k',
    certPem: 'c',
    enrolledAt: 0,
  });
  await assert.rejects(
    joinMember(file, { bundle: join(root, 'member.age'), passphrase: PASSPHRASE, token: 't' }),
    { code: 'AIRLOCK_PAIR_ALREADY_ENROLLED' },
  );
});

test('the passphrase file gives its first line', async () => {
  const file = join(root, 'pass');
  await writeFile(file, `${PASSPHRASE}\r\nignored\n`);
  assert.equal(await readPassphraseFile(file), PASSPHRASE);
});

test('the bundle carries the upstream token key: approval tokens of both members verify with one JWKS', async () => {
  const bundle = await collectMemberBundle(join(root, 'first'), 'acme.relay.test');
  assert.ok(bundle.files.some((f) => f.path === 'upstream-token-key.json'));
});
