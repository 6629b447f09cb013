/**
 * An independent tlog-witness for tests: `createAuditWitness` on its own SQLite store behind a plain
 * HTTP server on 127.0.0.1, trusting the log keys the test gives it.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { formatVkey, NOTE_SIG_TYPE_COSIGNATURE_V1, type NoteSigner } from '../../src/audit/signed-note.js';
import { type AuditWitness, createAuditWitness } from '../../src/audit/witness-server.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

export interface TestWitness {
  url: string;
  vkey: string;
  signer: NoteSigner;
  witness: AuditWitness;
  store: Store;
  /** Trust `key` for `origin`. */
  trust(origin: string, key: KeyObject): void;
  /** Requests received (path + status). */
  requests: Array<{ path: string; status: number }>;
  close(): Promise<void>;
}

export async function startTestWitness(name = 'witness.test/w1'): Promise<TestWitness> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-witness-'));
  const store = await openStore({ url: `sqlite:${join(dir, 'witness.db')}` });
  const key = generateAuditKey();
  const signer: NoteSigner = { name, publicKey: key.publicKey, privateKey: key.privateKey };
  const trusted = new Map<string, KeyObject[]>();
  const witness = createAuditWitness({
    repository: store.audit,
    signer,
    trustedKeys: async (origin) => trusted.get(origin) ?? [],
  });
  const requests: Array<{ path: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const response = await witness.handle(
          new Request(`http://127.0.0.1${req.url}`, {
            method: req.method ?? 'GET',
            ...(req.method === 'POST' ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
          }),
        );
        requests.push({ path: req.url ?? '', status: response.status });
        res.writeHead(response.status, {
          'content-type': response.headers.get('content-type') ?? 'text/plain',
        });
        res.end(await response.text());
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1/audit`,
    vkey: formatVkey(signer, NOTE_SIG_TYPE_COSIGNATURE_V1),
    signer,
    witness,
    store,
    requests,
    trust(origin, k) {
      trusted.set(origin, [...(trusted.get(origin) ?? []), k]);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
