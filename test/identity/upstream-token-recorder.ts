/**
 * An HTTP MCP upstream for tests that records the headers of every HTTP request it receives (built with
 * the v2 SDK: `Server` + `createMcpHandler` + `toNodeHandler`, both eras), with one tool, `whoami`.
 */
import { once } from 'node:events';
import { createServer, type Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, Server } from '@modelcontextprotocol/server';

export interface RecordingUpstream {
  url: string;
  /** Headers of every HTTP request, in arrival order. */
  requests: { method: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordingUpstream['requests'] = [];
  const handler = createMcpHandler(() => {
    const server = new Server({ name: 'recorder', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler('tools/list', async () => ({
      tools: [{ name: 'whoami', inputSchema: { type: 'object' } }],
    }));
    server.setRequestHandler('tools/call', async (request) => ({
      content: [{ type: 'text', text: `called ${request.params.name}` }],
    }));
    return server;
  });
  const node = toNodeHandler(handler);
  const http: HttpServer = createServer((req, res) => {
    requests.push({ method: req.method ?? '', headers: { ...req.headers } });
    void node(req, res);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
