/**
 * DNS-01 through the operator's hook, against Debian's Pebble: the hook (a real child process) publishes
 * the TXT record that the test's DNS server answers, the certificate is issued without any TLS-ALPN-01
 * validation, the record is removed afterwards, and the hook sees none of the connector's environment.
 * A failing hook is a clear, retryable error and installs nothing.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AcmeCertificate } from '../../src/connector/acme/acme-certificate.js';
import { Dns01Hook } from '../../src/connector/acme/dns01-hook.js';
import { freePort, type Pebble, startPebble } from '../fixtures/pebble.js';

const HOST = 'dns01.tenants.airlock.test';
const HOOK = `import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [dir, action, name, value] = process.argv.slice(2);
if (process.env.AIRLOCK_ACME_DNS_NAME !== name) process.exit(3);
writeFileSync(join(dir, 'env.json'), JSON.stringify(Object.keys(process.env)));
const file = join(dir, 'records', name);
if (action === 'create') writeFileSync(file, value);
else rmSync(file, { force: true });
writeFileSync(join(dir, 'log'), action + ' ' + name + '\\n', { flag: 'a' });
`;

let dir: string;
let pebble: Pebble;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-dns01-'));
  await writeFile(join(dir, 'hook.mjs'), HOOK);
  await mkdir(join(dir, 'records'));
  const records = join(dir, 'records');
  // Nothing listens on tlsPort: a TLS-ALPN-01 attempt could not succeed.
  pebble = await startPebble({
    tlsPort: await freePort(),
    txt: (name) => {
      const file = join(records, name.toLowerCase());
      return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    },
  });
});

after(async () => {
  await pebble?.close();
  await rm(dir, { recursive: true, force: true });
});

test('DNS-01: the hook publishes the TXT record, the CA issues, the record is removed, the hook gets no secrets', async () => {
  process.env.AIRLOCK_TEST_CONNECTOR_SECRET = 'must-not-reach-the-hook';
  let installed = 0;
  const acme = new AcmeCertificate({
    dataDir: join(dir, 'data'),
    hostname: HOST,
    directoryUrl: pebble.directoryUrl,
    directoryCaPem: pebble.apiCaPem,
    dns01: new Dns01Hook({ command: process.execPath, args: [join(dir, 'hook.mjs'), dir] }),
    onCertificate: () => {
      installed++;
    },
  });
  try {
    const issued = await acme.renew();
    assert.equal(installed, 1);
    assert.match(
      new X509Certificate(issued.certPem).subjectAltName ?? '',
      /DNS:dns01\.tenants\.airlock\.test/,
    );
    const log = await readFile(join(dir, 'log'), 'utf8');
    assert.equal(log, `create _acme-challenge.${HOST}\nremove _acme-challenge.${HOST}\n`);
    assert.deepEqual(await readdir(join(dir, 'records')), [], 'the TXT record was not removed');
    const env = JSON.parse(await readFile(join(dir, 'env.json'), 'utf8')) as string[];
    assert.ok(env.includes('AIRLOCK_ACME_DNS_VALUE'));
    assert.ok(!env.includes('AIRLOCK_TEST_CONNECTOR_SECRET'), 'the hook saw the connector environment');
  } finally {
    delete process.env.AIRLOCK_TEST_CONNECTOR_SECRET;
    acme.stop();
  }
});

test('a failing DNS-01 hook is a retryable order failure naming the hook, and installs nothing', async () => {
  const acme = new AcmeCertificate({
    dataDir: join(dir, 'data-failing'),
    hostname: `failing.${HOST}`,
    directoryUrl: pebble.directoryUrl,
    directoryCaPem: pebble.apiCaPem,
    dns01: new Dns01Hook({ command: process.execPath, args: ['-e', 'process.exit(7)'] }),
    onCertificate: () => assert.fail('no certificate may be installed'),
  });
  try {
    await assert.rejects(acme.renew(), (err: Error & { code?: string; retryable?: boolean }) => {
      assert.equal(err.code, 'AIRLOCK_ACME_ORDER_FAILED');
      assert.equal(err.retryable, true);
      assert.match(err.message, /DNS-01 hook/);
      return true;
    });
    assert.equal(acme.certificate, undefined);
  } finally {
    acme.stop();
  }
});
