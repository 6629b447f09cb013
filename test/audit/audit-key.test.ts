/**
 * The audit key lives in the connector's data directory, private (0600), and is reused across starts.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditError } from '../../src/audit/audit-error.js';
import {
  AUDIT_KEY_FILE,
  AUDIT_PUBLIC_KEY_FILE,
  auditKeyDir,
  auditPublicKeyFromPem,
  loadOrCreateAuditKey,
} from '../../src/audit/audit-key.js';
import { signCheckpoint, verifyCheckpointSignature } from '../../src/audit/audit-signing.js';

describe('audit key', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'airlock-audit-key-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('is generated once (Ed25519, 0600) and loaded again on the next start', async () => {
    const key = await loadOrCreateAuditKey(dataDir);
    const file = join(auditKeyDir(dataDir), AUDIT_KEY_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(key.privateKey.asymmetricKeyType, 'ed25519');
    assert.match(key.keyId, /^[0-9a-f]{64}$/);
    const pub = await readFile(join(auditKeyDir(dataDir), AUDIT_PUBLIC_KEY_FILE), 'utf8');
    assert.equal(pub, key.publicKeyPem);

    const again = await loadOrCreateAuditKey(dataDir);
    assert.equal(again.keyId, key.keyId);
    const cp = signCheckpoint(again, { tenant: 'acme', treeSize: 1, rootHash: Buffer.alloc(32, 7), time: 1 });
    assert.equal(verifyCheckpointSignature(cp, auditPublicKeyFromPem(pub)), true);
  });

  test('a key file readable by others is refused', async () => {
    const file = join(auditKeyDir(dataDir), AUDIT_KEY_FILE);
    await loadOrCreateAuditKey(dataDir);
    await chmod(file, 0o644);
    await assert.rejects(
      loadOrCreateAuditKey(dataDir),
      (e: unknown) => e instanceof AuditError && e.code === 'AIRLOCK_AUDIT_KEY',
    );
    await chmod(file, 0o600);
  });

  test('a public key that is not Ed25519 is refused', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    assert.throws(
      () => auditPublicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
      (e: unknown) => e instanceof AuditError && e.code === 'AIRLOCK_AUDIT_KEY',
    );
  });
});
