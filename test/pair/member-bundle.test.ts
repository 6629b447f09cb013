import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import {
  collectMemberBundle,
  installMemberBundle,
  type MemberBundle,
  openMemberBundle,
  sealMemberBundle,
} from '../../src/connector/pair/member-bundle.js';
import { ensureTenantPki } from '../../src/identity/tenant-pki.js';
import { loadTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';

const PASSPHRASE = 'correct horse battery staple';
let root: string;
let first: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'airlock-bundle-'));
  first = join(root, 'first');
  // A connector's data directory as the product makes it.
  await ensureTenantPki(join(first, 'tenant'), 'acme.relay.test');
  await loadTenantPiiKeys({ path: join(first, 'pii', 'vault-key.json'), tenant: 'acme', create: true });
  await loadOrCreateAuditKey(first);
});
after(() => rm(root, { recursive: true, force: true }));

test('a sealed bundle carries every member key, encrypted, and installs them with their modes', async () => {
  const bundle = await collectMemberBundle(first, 'acme.relay.test');
  const sealed = await sealMemberBundle(bundle, PASSPHRASE);
  assert.doesNotMatch(sealed, /PRIVATE KEY/);
  const caKey = await readFile(join(first, 'tenant', 'ca.key'), 'utf8');
  const caKeyBody = caKey.split('\n')[1] ?? '';
  assert.ok(
    caKeyBody.length > 20 && !sealed.includes(caKeyBody),
    'the tenant CA key is readable in the bundle',
  );
  const second = join(root, 'second');
  const written = await installMemberBundle(second, await openMemberBundle(sealed, PASSPHRASE));
  assert.ok(
    written.includes('tenant/ca.key') &&
      written.includes('pii/vault-key.json') &&
      written.includes('audit/audit-key.pem'),
  );
  for (const path of written) {
    assert.deepEqual(await readFile(join(second, path)), await readFile(join(first, path)), path);
    assert.equal(
      (await stat(join(second, path))).mode & 0o777,
      (await stat(join(first, path))).mode & 0o777,
      path,
    );
  }
  assert.equal((await stat(join(second, 'tenant', 'ca.key'))).mode & 0o077, 0);
  // The installed directory is usable by the product as it is.
  const pki = await ensureTenantPki(join(second, 'tenant'), 'acme.relay.test');
  assert.equal(pki.caCertPem, await readFile(join(first, 'tenant', 'ca.pem'), 'utf8'));
});

test('a wrong passphrase, a modified bundle and a short passphrase are refused', async () => {
  const sealed = await sealMemberBundle(await collectMemberBundle(first, 'acme.relay.test'), PASSPHRASE);
  await assert.rejects(openMemberBundle(sealed, 'not the passphrase at all'), {
    code: 'AIRLOCK_BUNDLE_UNREADABLE',
  });
  const lines = sealed.split('\n');
  const middle = Math.floor(lines.length / 2);
  const line = lines[middle] ?? '';
  lines[middle] = (line[0] === 'A' ? 'B' : 'A') + line.slice(1);
  await assert.rejects(openMemberBundle(lines.join('\n'), PASSPHRASE), { code: 'AIRLOCK_BUNDLE_UNREADABLE' });
  await assert.rejects(sealMemberBundle(await collectMemberBundle(first, 'x'), 'short'), {
    code: 'AIRLOCK_BUNDLE_PASSPHRASE_WEAK',
  });
});

test('a bundle cannot write outside the data directory or silently replace another tenant keys', async () => {
  const hostile: MemberBundle = {
    version: 1,
    tenantHost: 'acme.relay.test',
    createdAt: new Date().toISOString(),
    files: [{ path: '../escape.txt', mode: 0o644, contentBase64: Buffer.from('x').toString('base64') }],
  };
  const target = join(root, 'third');
  await assert.rejects(installMemberBundle(target, hostile), { code: 'AIRLOCK_BUNDLE_PATH' });
  await assert.rejects(stat(join(root, 'escape.txt')), { code: 'ENOENT' });
  const other = join(root, 'other');
  await mkdir(join(other, 'tenant'), { recursive: true });
  await writeFile(join(other, 'tenant', 'ca.key'), 'another tenant key');
  const bundle = await openMemberBundle(
    await sealMemberBundle(await collectMemberBundle(first, 'acme.relay.test'), PASSPHRASE),
    PASSPHRASE,
  );
  await assert.rejects(installMemberBundle(other, bundle), { code: 'AIRLOCK_BUNDLE_WOULD_OVERWRITE' });
  assert.equal(await readFile(join(other, 'tenant', 'ca.key'), 'utf8'), 'another tenant key');
});

test('a data directory that never ran cannot make a bundle', async () => {
  await assert.rejects(collectMemberBundle(join(root, 'empty'), 'acme.relay.test'), {
    code: 'AIRLOCK_BUNDLE_FILE_MISSING',
  });
});
