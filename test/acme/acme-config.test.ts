/**
 * `tls.acme` in connector.yaml: defaults, and clear errors at load (file, line, field) for what an
 * operator gets wrong: a plain-http directory, a typo, TLS-ALPN-01 without a relay.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { DEFAULT_ACME_RENEW_BEFORE_DAYS } from '../../src/connector/acme/acme-config.js';
import { DEFAULT_DNS01_HOOK_TIMEOUT_MS } from '../../src/connector/acme/dns01-hook.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-acme-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const relay = { url: 'tls://relay.example.com:443' };
const upstreams = { erp: { url: 'http://erp.internal/mcp' } };

async function load(config: Record<string, unknown>) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify({ dataDir: join(dir, 'data'), ...config, upstreams }));
  return loadConnectorContext(file);
}

test('tls.acme: defaults for the renewal window and check interval', async () => {
  const ctx = await load({ relay, tls: { acme: { directoryUrl: 'https://acme.example/directory' } } });
  assert.equal(ctx.config.tls?.acme?.renewBeforeDays, DEFAULT_ACME_RENEW_BEFORE_DAYS);
  assert.equal(ctx.config.tls?.acme?.checkIntervalMs, 3_600_000);
  assert.equal(ctx.config.tls?.acme?.dns01Hook, undefined);
  const dns = await load({
    tls: { acme: { directoryUrl: 'https://acme.example/directory', dns01Hook: { command: '/bin/true' } } },
  });
  assert.deepEqual(dns.config.tls?.acme?.dns01Hook, {
    command: '/bin/true',
    args: [],
    timeoutMs: DEFAULT_DNS01_HOOK_TIMEOUT_MS,
  });
});

test('tls.acme: a plain-http directory, a misspelt key and TLS-ALPN-01 without a relay are refused clearly', async () => {
  await assert.rejects(
    load({ relay, tls: { acme: { directoryUrl: 'http://acme.example/directory' } } }),
    (err: Error) => {
      assert.match(err.message, /tls\.acme\.directoryUrl/);
      assert.match(err.message, /https URL of an ACME directory/);
      return true;
    },
  );
  await assert.rejects(
    load({ relay, tls: { acme: { directoryUrl: 'https://acme.example/directory', renewBeforeDay: 10 } } }),
    /renewBeforeDay/,
  );
  await assert.rejects(
    load({ tls: { acme: { directoryUrl: 'https://acme.example/directory' } } }),
    (err: Error) => {
      assert.match(err.message, /through the relay/);
      return true;
    },
  );
});
