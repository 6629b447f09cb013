import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PII_ERROR_CODES, PiiError } from '../../src/pii/pii-errors.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { deriveTenantPiiKeys, loadTenantPiiKeys, type TenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { formatToken } from '../../src/pii/token-format.js';
import { sealValue } from '../../src/pii/vault-cipher.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const isPiiError = (code: string) => (e: unknown) => e instanceof PiiError && e.code === code;
const keysFor = (tenant: string): TenantPiiKeys => deriveTenantPiiKeys(tenant, randomBytes(32));

describe('tenant PII key file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-pii-keys-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is created 0600 with a random key, and loads back to the same keys', async () => {
    const path = join(dir, 'sub', 'acme.key');
    const created = await loadTenantPiiKeys({ path, tenant: 'acme', create: true });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const loaded = await loadTenantPiiKeys({ path, tenant: 'acme' });
    assert.deepEqual(loaded.tokenKey, created.tokenKey);
    assert.deepEqual(loaded.vaultKey, created.vaultKey);
    assert.notDeepEqual(created.tokenKey, created.vaultKey, 'one key per purpose');
    const again = await loadTenantPiiKeys({ path, tenant: 'acme', create: true });
    assert.deepEqual(again.hashKey, created.hashKey, 'create never replaces an existing key');
  });

  it('is refused when others can read it, when it names another tenant, or when it is missing', async () => {
    const path = join(dir, 'loose.key');
    await loadTenantPiiKeys({ path, tenant: 'acme', create: true });
    chmodSync(path, 0o644);
    await assert.rejects(
      loadTenantPiiKeys({ path, tenant: 'acme' }),
      isPiiError(PII_ERROR_CODES.keyFileMode),
    );
    chmodSync(path, 0o600);
    await assert.rejects(
      loadTenantPiiKeys({ path, tenant: 'globex' }),
      isPiiError(PII_ERROR_CODES.keyTenant),
    );
    await assert.rejects(
      loadTenantPiiKeys({ path: join(dir, 'none.key'), tenant: 'acme' }),
      isPiiError(PII_ERROR_CODES.keyFile),
    );
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, '{"version":1,"tenant":"acme","key":"c2hvcnQ"}', { mode: 0o600 });
    await assert.rejects(
      loadTenantPiiKeys({ path: bad, tenant: 'acme' }),
      isPiiError(PII_ERROR_CODES.keyFile),
    );
  });
});

interface Backend {
  name: string;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir: string | undefined;
  return {
    name: 'sqlite',
    async open() {
      dir = mkdtempSync(join(tmpdir(), 'airlock-pii-vault-'));
      return openStore({ url: `sqlite:${join(dir, 'vault.db')}` });
    },
    async cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  const schema = `airlock_pii_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    name: 'postgres',
    open: () => openStore({ url: PG_URL, schema }),
    async cleanup() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe(`PII vault on ${backend.name}`, () => {
    let store: Store;
    const acmeKeys = keysFor('acme');
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it('gives the same value the same readable token, and resolves it back', async () => {
      const vault = new PiiVault({ tenant: 'acme', keys: acmeKeys, repository: store.vault });
      const token = await vault.tokenize('EMAIL', 'Anna.Schmidt@Example.de', 'anna.schmidt@example.de');
      assert.match(token, /^\[\[EMAIL:[0-9a-f]{8}\]\]$/);
      assert.equal(
        await vault.tokenize('EMAIL', 'anna.schmidt@example.de'),
        token,
        'normalised spellings join',
      );
      // A fresh vault object (no cache) over the same store agrees: tokens are stable across restarts.
      const restarted = new PiiVault({
        tenant: 'acme',
        keys: acmeKeys,
        repository: store.vault,
        cacheSize: 0,
      });
      assert.equal(await restarted.tokenize('EMAIL', 'anna.schmidt@example.de'), token);
      assert.deepEqual(await restarted.resolve(token), { class: 'EMAIL', value: 'Anna.Schmidt@Example.de' });
      assert.notEqual(
        await vault.tokenize('PHONE', 'anna.schmidt@example.de'),
        token.replace('EMAIL', 'PHONE'),
      );
      assert.equal(await restarted.resolve('[[EMAIL:00000000]]'), undefined);
    });

    it('keeps tenants apart: other tokens for the same value, and no access to the other vault', async () => {
      const acme = new PiiVault({ tenant: 'acme', keys: acmeKeys, repository: store.vault });
      const globex = new PiiVault({ tenant: 'globex', keys: keysFor('globex'), repository: store.vault });
      const a = await acme.tokenize('CARD', '4111 1111 1111 1111', '4111111111111111');
      const g = await globex.tokenize('CARD', '4111 1111 1111 1111', '4111111111111111');
      assert.notEqual(a, g);
      assert.equal(await globex.resolve(a), undefined);
      assert.equal(await acme.resolve(g), undefined);
      assert.throws(
        () => new PiiVault({ tenant: 'acme', keys: keysFor('globex'), repository: store.vault }),
        isPiiError(PII_ERROR_CODES.keyTenant),
      );
    });

    it('lengthens a token that collides with another value', async () => {
      const vault = new PiiVault({ tenant: 'acme', keys: acmeKeys, repository: store.vault });
      const digest = vault.digest('NAME', 'anna schmidt');
      const squatter = formatToken('NAME', digest.slice(0, 8));
      assert.ok(
        await store.vault.putVaultEntry({
          tenant: 'acme',
          token: squatter,
          digest: 'f'.repeat(64),
          dataClass: 'NAME',
          sealedValue: sealValue(acmeKeys.vaultKey, 'Someone Else', `acme\u0000${squatter}`),
          createdAt: Date.now(),
        }),
      );
      const token = await vault.tokenize('NAME', 'Anna Schmidt', 'anna schmidt');
      assert.equal(token, formatToken('NAME', digest.slice(0, 12)));
      assert.deepEqual(await vault.resolve(token), { class: 'NAME', value: 'Anna Schmidt' });
      assert.deepEqual(await vault.resolve(squatter), { class: 'NAME', value: 'Someone Else' });
    });

    it('refuses a sealed value moved to another row', async () => {
      const vault = new PiiVault({ tenant: 'acme', keys: acmeKeys, repository: store.vault, cacheSize: 0 });
      const token = await vault.tokenize('IBAN', 'DE89370400440532013000');
      const row = await store.vault.getVaultEntryByToken('acme', token);
      assert.ok(row);
      const moved = formatToken('IBAN', 'abcdef01');
      await store.vault.putVaultEntry({ ...row, token: moved, digest: 'e'.repeat(64) });
      await assert.rejects(vault.resolve(moved), isPiiError(PII_ERROR_CODES.vaultDecrypt));
    });
  });
}

describe('PII vault at rest', () => {
  it('the SQLite file holds tokens and ciphertext, never the raw values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-pii-rest-'));
    try {
      const store = await openStore({ url: `sqlite:${join(dir, 'vault.db')}` });
      const vault = new PiiVault({ tenant: 'acme', keys: keysFor('acme'), repository: store.vault });
      const secrets = [
        'bernadette.okafor@example.org',
        'DE89370400440532013000',
        '4111111111111111',
        'Bernadette Okafor',
      ];
      const tokens: string[] = [];
      for (const [i, value] of secrets.entries())
        tokens.push(await vault.tokenize(['EMAIL', 'IBAN', 'CARD', 'NAME'][i] ?? 'X', value));
      assert.equal(await store.vault.countVaultEntries('acme'), secrets.length);
      await store.close();
      const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
      for (const t of tokens) assert.ok(bytes.includes(Buffer.from(t)), `token ${t} is stored`);
      for (const s of secrets) assert.ok(!bytes.includes(Buffer.from(s)), `${s} must not be in the file`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
