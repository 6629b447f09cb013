/**
 * Test peer for the agent helpers: a real MCP server (SDK v2 `createMcpHandler`, both eras) behind
 * `https.createServer` with a server certificate for `acme.localhost`, requiring client certificates
 * issued by the tenant CA. Records what it saw (SNI, Host, client CN, waiting calls, cancellations).
 */
import { once } from 'node:events';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  type AuthInfo,
  completable,
  createMcpHandler,
  type McpHttpHandler,
  McpServer,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import {
  type CertifiedKey,
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
} from '../../src/identity/pki.js';

export interface TenantPki {
  ca: CertifiedKey;
  server: CertifiedKey;
  agent: { certPem: string; keyPem: string };
}

/** A tenant CA, a server certificate for acme.localhost and an agent client certificate. */
export async function createTenantPki(tenant = 'acme'): Promise<TenantPki> {
  const ca = await createCertificateAuthority({ commonName: `${tenant} test CA` });
  const server = await issueServerCertificate(ca, {
    commonName: `${tenant}.localhost`,
    dnsNames: [`${tenant}.localhost`],
  });
  const agent = await issueClientCertificate(ca, {
    commonName: 'claims-bot',
    uris: [`spiffe://${tenant}.localhost/agent/claims-bot`],
  });
  return { ca, server, agent: { certPem: agent.certPem, keyPem: agent.keyPem } };
}

export interface SeenRequest {
  servername: string | false | null;
  host: string | undefined;
  clientCn: string | undefined;
}

export interface TlsMcpServer {
  port: number;
  handler: McpHttpHandler;
  seen: SeenRequest[];
  /** TLS connections accepted so far. */
  readonly connections: number;
  /** The tags of the `wait_for_cancel` calls that started waiting, in order. */
  waiting: string[];
  cancelled: string[];
  close(): Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** What the `wait_for_cancel` calls did: the tags that started waiting and those that were cancelled. */
interface CancelRecord {
  waiting: string[];
  cancelled: string[];
}

function buildServer(record: CancelRecord): McpServer {
  const server = new McpServer(
    { name: 'acme-test', version: '2.0.0' },
    {
      instructions: 'Test tenant',
      capabilities: { tools: { listChanged: true }, resources: {}, prompts: {}, completions: {} },
    },
  );
  registerTools(server, record);
  registerResourcesAndPrompts(server);
  return server;
}

/** `echo`, `whoami`, `count_with_progress`, `wait_for_cancel` and `fail`. */
function registerTools(server: McpServer, record: CancelRecord): void {
  server.registerTool(
    'echo',
    {
      description: 'Echo the text back',
      inputSchema: z.object({ text: z.string() }),
      outputSchema: z.object({ echoed: z.string() }),
      annotations: { readOnlyHint: true },
    },
    ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { echoed: text } }),
  );
  server.registerTool(
    'whoami',
    { description: 'The client certificate CN the server saw', inputSchema: z.object({}) },
    (_args, ctx) => ({ content: [{ type: 'text', text: ctx.http?.authInfo?.clientId ?? 'anonymous' }] }),
  );
  server.registerTool(
    'count_with_progress',
    { description: 'Counts to three, reporting progress', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= 3; i++) {
        if (token !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: 3, message: `step ${i}` },
          });
        }
        await sleep(10);
      }
      return { content: [{ type: 'text', text: 'counted' }] };
    },
  );
  server.registerTool(
    'wait_for_cancel',
    { description: 'Waits until cancelled (or 10 s)', inputSchema: z.object({ tag: z.string() }) },
    async ({ tag }, ctx) => {
      record.waiting.push(tag);
      await sleep(10_000, ctx.mcpReq.signal);
      if (ctx.mcpReq.signal.aborted) record.cancelled.push(tag);
      return { content: [{ type: 'text', text: 'not cancelled' }] };
    },
  );
  server.registerTool('fail', { description: 'Always fails', inputSchema: z.object({}) }, () => ({
    isError: true,
    content: [{ type: 'text', text: 'it failed on purpose' }],
  }));
}

/** The `test://hello` resource, the `test://items/{id}` template and the `greet` prompt. */
function registerResourcesAndPrompts(server: McpServer): void {
  server.registerResource(
    'hello',
    'test://hello',
    { description: 'A greeting', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'hello from acme' }] }),
  );
  server.registerResource(
    'item',
    new ResourceTemplate('test://items/{id}', {
      list: undefined,
      complete: { id: (v) => ['7', '42'].filter((x) => x.startsWith(v)) },
    }),
    { description: 'An item', mimeType: 'application/json' },
    (uri, { id }) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id }) }],
    }),
  );
  server.registerPrompt(
    'greet',
    {
      description: 'Greets someone',
      argsSchema: z.object({
        name: completable(z.string(), (v) => ['Ada', 'Alan'].filter((n) => n.startsWith(v))),
      }),
    },
    ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name}` } }] }),
  );
}

/** Starts the server on 127.0.0.1, port 0. */
export async function startTlsMcpServer(pki: TenantPki): Promise<TlsMcpServer> {
  const seen: SeenRequest[] = [];
  const record: CancelRecord = { waiting: [], cancelled: [] };
  const handler = createMcpHandler(() => buildServer(record), { keepAliveMs: 0 });
  const node = toNodeHandler(handler);
  const https: HttpsServer = createServer(
    {
      key: pki.server.keyPem,
      cert: pki.server.certPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const subjectCn: string | string[] | undefined = socket.getPeerCertificate().subject?.CN;
      const cn = Array.isArray(subjectCn) ? subjectCn[0] : subjectCn;
      seen.push({ servername: socket.servername, host: req.headers.host, clientCn: cn });
      const auth: AuthInfo = { token: 'mtls', clientId: cn ?? 'unknown', scopes: [] };
      void node(Object.assign(req, { auth }), res);
    },
  );
  let connections = 0;
  https.on('secureConnection', () => connections++);
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  const { port } = https.address() as AddressInfo;
  return {
    port,
    handler,
    seen,
    get connections() {
      return connections;
    },
    waiting: record.waiting,
    cancelled: record.cancelled,
    close: async () => {
      await handler.close();
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    },
  };
}

/** How an agent with `pki`'s certificate reaches `server` as `acme.localhost` (SNI and Host from the URL). */
export function tenantConnectionTo(pki: TenantPki, server: TlsMcpServer) {
  return {
    url: `https://acme.localhost:${server.port}/mcp`,
    caPem: pki.ca.certPem,
    certPem: pki.agent.certPem,
    keyPem: pki.agent.keyPem,
    connectTo: { host: '127.0.0.1', port: server.port },
  };
}
