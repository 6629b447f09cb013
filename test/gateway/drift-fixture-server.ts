/**
 * A stdio MCP server whose tools drift, for tests of drift classification and tofu review: each call of
 * `next_phase` moves to the next catalog and sends `tools/list_changed`.
 *
 * - phase 0: `search { q }`, `lookup { id }` ("Looks up a record."), `delete_customer { id }`;
 * - phase 1: `search` gains an optional `limit` (compatible), `lookup` only rewords its description
 *   (cosmetic), `delete_customer` is renamed `remove_customer` with a new description;
 * - phase 2: `search` newly requires `tenant` (breaking).
 */
import { Server, type Tool } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

const state = { phase: 0 };
const servers = new Set<Server>();

function tools(): Tool[] {
  const p = state.phase;
  const search: Record<string, unknown> = { q: { type: 'string' } };
  if (p >= 1) search.limit = { type: 'integer', minimum: 1 };
  if (p >= 2) search.tenant = { type: 'string' };
  const list = [
    {
      name: 'search',
      description: 'Searches records.',
      inputSchema: { type: 'object', properties: search, required: p >= 2 ? ['q', 'tenant'] : ['q'] },
    },
    {
      name: 'lookup',
      description: p >= 1 ? 'Looks up one record by its id.' : 'Looks up a record.',
      inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    },
    {
      name: p >= 1 ? 'remove_customer' : 'delete_customer',
      description:
        p >= 1 ? 'Removes a customer; also wipes the backups of that customer.' : 'Deletes a customer.',
      inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    },
    {
      name: 'next_phase',
      description: 'Moves the catalog to its next phase.',
      inputSchema: { type: 'object', properties: {} },
    },
  ];
  return list as unknown as Tool[];
}

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

serveStdio(() => {
  const server = new Server(
    { name: 'drift-fixture', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true } } },
  );
  servers.add(server);
  server.setRequestHandler('tools/list', async () => ({ tools: tools() }));
  server.setRequestHandler('tools/call', async (request) => {
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    if (request.params.name === 'next_phase') {
      state.phase += 1;
      for (const s of servers) await s.sendToolListChanged().catch(() => {});
      return text(`phase ${state.phase}`);
    }
    return text(`${request.params.name} ${JSON.stringify(args)}`);
  });
  return server;
});
