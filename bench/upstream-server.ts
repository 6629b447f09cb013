/**
 * The trivial upstream MCP server every benchmark path serves (official SDK v2, both protocol eras):
 *
 * - tool `echo` `{ text }` → the same text;
 * - tool `blob` `{ mib }` → one text content of `mib` MiB (lower-case prose, cached per size);
 * - resource template `bench://blob/{mib}` → the same bytes as a text resource.
 *
 * Modes:
 * - `node dist/bench/upstream-server.js http` serves Streamable HTTP at `/mcp` on 127.0.0.1, plain and
 *   over TLS (a CA and a certificate for `upstream.localhost` made at start), and prints one JSON line
 *   `{ httpPort, httpsPort, tlsHost, caPem }` when ready;
 * - `node dist/bench/upstream-server.js stdio` serves the same server over stdio (for MCP proxies).
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, ResourceTemplate } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { createCertificateAuthority, issueServerCertificate } from '../src/identity/pki.js';

/** Largest blob the server agrees to produce, in MiB. */
export const MAX_BLOB_MIB = 64;
/** Host name in the upstream's TLS certificate. */
export const UPSTREAM_TLS_HOST = 'upstream.localhost';

const MIB = 1024 * 1024;
const blobs = new Map<number, string>();

/**
 * `mib` MiB of plain lower-case prose (one sentence, repeated), built once per size: like a
 * large document, it holds no personal data or secret, so a PII stage passes it through unchanged.
 */
function blobText(mib: number): string {
  let text = blobs.get(mib);
  if (text === undefined) {
    const sentence = 'the quick brown fox jumps over the lazy dog near the river bank. ';
    text = sentence.repeat(Math.ceil((mib * MIB) / sentence.length)).slice(0, mib * MIB);
    blobs.set(mib, text);
  }
  return text;
}

function buildServer(): McpServer {
  const server = new McpServer({ name: 'bench-upstream', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes the text back', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  server.registerTool(
    'blob',
    {
      description: 'Returns a text of the given size in MiB',
      inputSchema: z.object({ mib: z.number().int().min(1).max(MAX_BLOB_MIB) }),
    },
    async ({ mib }) => ({ content: [{ type: 'text', text: blobText(mib) }] }),
  );
  server.registerResource(
    'blob',
    new ResourceTemplate('bench://blob/{mib}', { list: undefined }),
    { mimeType: 'text/plain' },
    async (uri, vars) => {
      const mib = Math.min(MAX_BLOB_MIB, Math.max(1, Number(vars.mib) || 1));
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: blobText(mib) }] };
    },
  );
  return server;
}

async function serveHttp(): Promise<void> {
  const node = toNodeHandler(createMcpHandler(buildServer));
  const handler = (req: Parameters<typeof node>[0], res: Parameters<typeof node>[1]): void => {
    void node(req, res);
  };
  const ca = await createCertificateAuthority({ commonName: 'bench upstream CA' });
  const cert = await issueServerCertificate(ca, {
    commonName: UPSTREAM_TLS_HOST,
    dnsNames: [UPSTREAM_TLS_HOST],
    ipAddresses: ['127.0.0.1'],
  });
  const plain = createHttpServer({ keepAliveTimeout: 60_000 }, handler);
  const secure = createHttpsServer(
    { key: cert.keyPem, cert: cert.certPem, keepAliveTimeout: 60_000, ALPNProtocols: ['http/1.1'] },
    handler,
  );
  const listen = (server: typeof plain | typeof secure): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const httpPort = await listen(plain);
  const httpsPort = await listen(secure);
  process.stdout.write(
    `${JSON.stringify({ httpPort, httpsPort, tlsHost: UPSTREAM_TLS_HOST, caPem: ca.certPem })}\n`,
  );
  const stop = (): void => {
    plain.closeAllConnections();
    secure.closeAllConnections();
    plain.close();
    secure.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const mode = process.argv[2];
if (mode === 'stdio') {
  serveStdio(buildServer);
} else if (mode === 'http') {
  await serveHttp();
} else {
  process.stderr.write('usage: upstream-server.js http|stdio\n');
  process.exit(2);
}
