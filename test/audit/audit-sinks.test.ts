/**
 * Live sinks against real listeners on loopback: syslog RFC 5424 over TCP and TLS with octet-counting
 * framing, and OTLP/HTTP JSON logs. Sinks never block appends and catch up after an outage.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { OtlpLogSink } from '../../src/audit/otlp-sink.js';
import { SyslogSink } from '../../src/audit/syslog-sink.js';
import { createCertificateAuthority, issueServerCertificate } from '../../src/identity/pki.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';
import { adminEvent, requestEvent, TENANT } from './audit-fixture.js';

/** Collects octet-counted frames from every connection of a TCP or TLS server. */
function frameCollector(): { frames: string[]; onSocket: (socket: net.Socket) => void } {
  const frames: string[] = [];
  return {
    frames,
    onSocket(socket) {
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const space = buf.indexOf(0x20);
          if (space < 0) return;
          const len = Number(buf.subarray(0, space).toString('ascii'));
          if (buf.length < space + 1 + len) return;
          frames.push(buf.subarray(space + 1, space + 1 + len).toString('utf8'));
          buf = buf.subarray(space + 1 + len);
        }
      });
      socket.on('error', () => {});
    },
  };
}

function parseSyslog(frame: string) {
  const m =
    /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[(\S+)((?: [^=\s]+="(?:[^"\\\]]|\\.)*")*)\] \uFEFF(.*)$/su.exec(
      frame,
    );
  assert.ok(m, `not an RFC 5424 message: ${frame.slice(0, 200)}`);
  const params = Object.fromEntries(
    [...(m[8] ?? '').matchAll(/ ([^=\s]+)="((?:[^"\\\]]|\\.)*)"/g)].map((p) => [p[1], p[2]]),
  );
  return {
    pri: Number(m[1]),
    timestamp: m[2],
    hostname: m[3],
    app: m[4],
    procId: m[5],
    msgId: m[6],
    sdId: m[7],
    params,
    entry: JSON.parse(m[9] ?? '') as AuditEntry,
  };
}

let store: Store;
const key = generateAuditKey();
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  store = await openStore({ url: 'sqlite::memory:' });
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await store.close();
});

/** Listens on 127.0.0.1 (`port`, or any free one), closed after the file's tests; returns the port. */
async function listen(server: net.Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as AddressInfo).port;
}

/** A ledger on the file's store that feeds `sink`. */
function ledgerWith(sink: SyslogSink | OtlpLogSink): Promise<AuditLedger> {
  return AuditLedger.open({
    repository: store.audit,
    tenant: TENANT,
    key,
    checkpointIntervalMs: 0,
    sinks: [sink],
  });
}

/** An OTLP/HTTP logs receiver that answers its first request with 503, then records every body. */
async function startOtlpReceiver(): Promise<{ bodies: unknown[]; calls: () => number; port: number }> {
  const bodies: unknown[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls += 1;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/v1/logs');
      assert.equal(req.headers['content-type'], 'application/json');
      if (calls === 1) {
        res.writeHead(503).end();
        return;
      }
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await listen(server);
  return { bodies, calls: () => calls, port };
}

describe('audit live sinks', () => {
  test('syslog over TCP: RFC 5424 messages with octet-counting framing, one per entry', async () => {
    const collector = frameCollector();
    const port = await listen(net.createServer(collector.onSocket));
    const sink = new SyslogSink({ host: '127.0.0.1', port, hostname: 'connector-1' });
    const ledger = await ledgerWith(sink);
    const appended = [
      await ledger.append(requestEvent(1)),
      await ledger.append(
        requestEvent(2, { decision: 'deny', code: 'AIRLOCK_IDENTITY_REVOKED', reason: 'revoked "x"' }),
      ),
      await ledger.append(adminEvent(3)),
    ];
    await until('3 syslog frames', () => collector.frames.length >= 3);
    await ledger.close();
    const msgs = collector.frames.map(parseSyslog);
    assert.deepEqual(
      msgs.map((m) => m.entry.hash),
      appended.map((e) => e.hash),
    );
    // facility 13 (log audit): info for allow, warning for deny, notice for admin
    assert.deepEqual(
      msgs.map((m) => m.pri),
      [13 * 8 + 6, 13 * 8 + 4, 13 * 8 + 5],
    );
    const [first, second, third] = msgs;
    assert.equal(first?.hostname, 'connector-1');
    assert.equal(first?.app, 'airlock');
    assert.equal(first?.msgId, 'request');
    assert.equal(third?.msgId, 'admin');
    assert.equal(first?.sdId, 'airlock@32473');
    assert.equal(first?.params.tenant, TENANT);
    assert.equal(first?.params.seq, String(appended[0]?.seq));
    assert.equal(first?.params.tool, 'erp.lookup_invoice');
    assert.equal(second?.params.code, 'AIRLOCK_IDENTITY_REVOKED');
    assert.equal(new Date(first?.timestamp ?? '').getTime(), appended[0]?.time);
    assert.equal(sink.stats().sent, 3);
  });

  test('syslog over TLS (RFC 5425) with a certificate made in the test', async () => {
    const ca = await createCertificateAuthority({ commonName: 'syslog test CA' });
    const cert = await issueServerCertificate(ca, {
      commonName: 'syslog.localhost',
      dnsNames: ['syslog.localhost'],
    });
    const collector = frameCollector();
    const port = await listen(tls.createServer({ key: cert.keyPem, cert: cert.certPem }, collector.onSocket));
    const sink = new SyslogSink({
      host: '127.0.0.1',
      port,
      tls: { ca: ca.certPem, servername: 'syslog.localhost' },
    });
    const ledger = await ledgerWith(sink);
    await ledger.append(requestEvent(10));
    await until('a TLS syslog frame', () => collector.frames.length >= 1);
    await ledger.close();
    const { entry } = parseSyslog(collector.frames[0] ?? '');
    assert.equal(entry.kind, 'request');
    assert.equal(entry.tenant, TENANT);
  });
});

describe('audit live sinks: outages', () => {
  test('a syslog sink never blocks: bounded queue drops the oldest, then catches up after an outage', async () => {
    // Reserve a port, leave it closed for now.
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));

    const sink = new SyslogSink({
      host: '127.0.0.1',
      port,
      maxQueue: 3,
      reconnectMinMs: 20,
      reconnectMaxMs: 50,
    });
    const ledger = await ledgerWith(sink);
    const entries: AuditEntry[] = [];
    for (let i = 0; i < 5; i++) entries.push(await ledger.append(requestEvent(100 + i)));
    await until('a failed connection', () => sink.stats().failures > 0);
    assert.equal(sink.stats().queued, 3);
    assert.equal(sink.stats().dropped, 2);

    const collector = frameCollector();
    await listen(net.createServer(collector.onSocket), port);
    await until('3 frames after the collector came up', () => collector.frames.length >= 3);
    await ledger.close();
    assert.deepEqual(
      collector.frames.map((f) => parseSyslog(f).entry.seq),
      entries.slice(2).map((e) => e.seq),
    );
  });
});

describe('audit live sinks: OTLP', () => {
  test('OTLP/HTTP JSON logs: one LogRecord per entry, retried after a 503', async () => {
    const { bodies, calls, port } = await startOtlpReceiver();
    const sink = new OtlpLogSink({
      endpoint: `http://127.0.0.1:${port}`,
      flushIntervalMs: 10,
      retryMinMs: 20,
      resourceAttributes: { 'deployment.environment': 'test' },
    });
    const ledger = await ledgerWith(sink);
    const appended = await Promise.all([1, 2, 3].map((i) => ledger.append(requestEvent(200 + i))));
    await until('the OTLP batch', () => sink.stats().sent >= 3);
    await ledger.close();
    assert.ok(calls() >= 2, 'the first (503) attempt was retried');
    type Body = {
      resourceLogs: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeLogs: { scope: { name: string }; logRecords: Record<string, unknown>[] }[];
      }[];
    };
    const records = (bodies as Body[]).flatMap((b) =>
      b.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords)),
    );
    assert.equal(records.length, 3);
    const resource = (bodies[0] as Body).resourceLogs[0]?.resource.attributes ?? [];
    assert.ok(resource.some((a) => a.key === 'service.name' && a.value.stringValue === 'airlock-connector'));
    assert.ok(resource.some((a) => a.key === 'deployment.environment' && a.value.stringValue === 'test'));
    const first = records[0] as {
      timeUnixNano: string;
      severityNumber: number;
      severityText: string;
      body: { stringValue: string };
      attributes: { key: string; value: { stringValue?: string; intValue?: string } }[];
    };
    const entry = JSON.parse(first.body.stringValue) as AuditEntry;
    assert.equal(entry.hash, appended[0]?.hash);
    assert.equal(first.timeUnixNano, `${appended[0]?.time}000000`);
    assert.equal(first.severityNumber, 9);
    assert.equal(first.severityText, 'INFO');
    const attr = (k: string) => first.attributes.find((a) => a.key === k)?.value;
    assert.equal(attr('airlock.tenant')?.stringValue, TENANT);
    assert.equal(attr('airlock.audit.seq')?.intValue, String(appended[0]?.seq));
    assert.equal(attr('rpc.method')?.stringValue, 'tools/call');
  });
});
