/**
 * The `audit:` section of the connector config, wired end to end: an extra witness (a second,
 * independent tlog-witness, `createAuditWitness`, with its verifier key in the config) cosigns
 * checkpoints next to the relay, a syslog collector (TCP, RFC 5424) and an OpenTelemetry collector
 * (OTLP/HTTP JSON) receive every entry live, and `airlock audit verify` checks against both witnesses
 * (quorum 2). Config mistakes in the
 * section are reported with the key and what was expected.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { connectToTenant } from '../../src/agent/index.js';
import { auditPublicKeyFromPem } from '../../src/audit/audit-key.js';
import { auditOrigin } from '../../src/audit/audit-signing.js';
import { startTestWitness, type TestWitness } from '../audit/witness-fixture.js';
import { everythingUpstream, type Stack, startStack } from './airlock-stack.js';
import { runCliResult, setAuditConfig } from './audit-cli.js';

let stack: Stack;
let witness: TestWitness;
let otlpServer: http.Server;
let syslogServer: net.Server;
const otlpBodies: string[] = [];
let syslogText = '';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function until(what: string, check: () => boolean, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  stack = await startStack({ upstreams: () => ({ everything: everythingUpstream() }) });
  // An independent witness service with its own store.
  witness = await startTestWitness();
  otlpServer = http.createServer((req, res) => {
    void readBody(req).then((body) => {
      if (req.url === '/v1/logs') otlpBodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  syslogServer = net.createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      syslogText += d;
    });
  });
  const [otlpPort, syslogPort] = [await listen(otlpServer), await listen(syslogServer)];
  const acme = stack.tenant('acme');
  // An independent witness learns the audit key out of band, from the connector's public key file.
  const pem = await readFile(join(stack.dir, 'acme', 'audit', 'audit-key.pub.pem'), 'utf8');
  witness.trust(auditOrigin('acme'), auditPublicKeyFromPem(pem));
  await setAuditConfig(acme.configFile, {
    checkpointEvery: 3,
    checkpointIntervalMs: 200,
    witnesses: [{ url: witness.url, key: witness.vkey }],
    quorum: 2,
    sinks: {
      syslog: { host: '127.0.0.1', port: syslogPort },
      otlp: { endpoint: `http://127.0.0.1:${otlpPort}` },
    },
    retention: { olderThan: '3650d' },
  });
  await acme.restart();
});

after(async () => {
  await stack?.close();
  await witness?.close();
  otlpServer?.closeAllConnections();
  for (const server of [otlpServer, syslogServer]) {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
});

test('extra witness, syslog and OTLP sinks from the audit config receive the trail', async () => {
  const acme = stack.tenant('acme');
  const client = await connectToTenant(acme.connection(), { name: 'sinks', version: '1' });
  try {
    for (let i = 0; i < 5; i += 1) {
      await client.callTool({ name: 'everything.echo', arguments: { message: `sink-${i}` } });
    }
  } finally {
    await client.close();
  }
  const ledger = acme.connector.audit;
  await ledger.checkpoint();
  assert.ok(await ledger.drainWitnesses(5_000), 'both witnesses took every checkpoint');
  const stats = ledger.stats();
  assert.equal(stats.witnesses.length, 2);
  for (const w of stats.witnesses) assert.equal(w.witnessedTreeSize, ledger.head.seq, w.witness);
  assert.equal(stats.sinks.length, 2);

  const echoRecords = () =>
    otlpBodies
      .flatMap(
        (b) =>
          (JSON.parse(b) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: unknown[] }> }> })
            .resourceLogs,
      )
      .flatMap((r) => r.scopeLogs.flatMap((sl) => sl.logRecords))
      .filter((record) => JSON.stringify(record).includes('"airlock.tool"'));
  await until('OTLP log records of the five echo calls', () => echoRecords().length >= 5);
  assert.equal(echoRecords().length, 5);
  await until(
    'syslog messages of the echo calls',
    () => (syslogText.match(/everything\.echo/g) ?? []).length >= 5,
  );
  assert.match(syslogText, /^\d+ <\d+>1 /, 'octet-counted RFC 5424 frames');
  assert.ok(
    !syslogText.includes('sink-0') && !otlpBodies.join('').includes('sink-0'),
    'sinks get redacted entries',
  );

  const verified = await runCliResult(['audit', 'verify', '--config', acme.configFile, '--json']);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  const report = JSON.parse(verified.stdout) as {
    ok: boolean;
    witnessesReached: number;
    quorum: number;
    witnessedThrough: number;
    lastSeq: number;
  };
  assert.equal(report.ok, true);
  assert.equal(report.quorum, 2);
  assert.equal(report.witnessesReached, 2, 'both witnesses were asked');
  assert.ok(report.witnessedThrough >= ledger.head.seq - 1, 'both witnesses vouch for the trail');
});

test('mistakes in the audit section are reported with the key and what was expected', async () => {
  const file = join(stack.dir, 'bad-audit.yaml');
  await writeFile(
    file,
    stringify({
      dataDir: join(stack.dir, 'bad'),
      tenantHost: 'bad.localhost',
      audit: { checkpointEvry: 10, retention: { olderThan: '30x' } },
      upstreams: { everything: everythingUpstream() },
    }),
  );
  const r = await runCliResult(['audit', 'verify', '--config', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /audit\.checkpointEvry: unknown key "checkpointEvry" \(did you mean "checkpointEvery"\?\)/,
  );
  assert.match(r.stderr, /audit\.retention\.olderThan: .*duration like 15m, 12h or 365d/);

  const usage = await runCliResult(['audit', 'verify']);
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /give --config <connector\.yaml> or --file <export\.jsonl>/);
});
