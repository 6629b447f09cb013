/**
 * A stdio MCP server (v2 SDK, `serveStdio`: both eras) for the relay tests. Its tools ask the client for
 * input with `inputRequired(...)`: on a 2026-07-28 connection that is an `input_required` answer, on a
 * 2025-11-25 connection the SDK's legacy shim pushes real server→client requests.
 *
 * Tools: `ask_name` (elicitation), `ask_model` (sampling), `ask_roots` (roots), `ask_twice` (elicitation,
 * then sampling: two rounds), `chatty` (logs at debug, info, warning and error), `touch` ({ uri }: sends
 * `notifications/resources/updated`). Resources: `<scheme>://doc/1`, `<scheme>://doc/2`, with
 * subscriptions. `RELAY_FIXTURE_SCHEME` sets the scheme (default `relay`).
 */
import { inputRequired, inputResponse, McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

const scheme = process.env.RELAY_FIXTURE_SCHEME ?? 'relay';
const NAME_SCHEMA = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const, description: 'Your name' } },
  required: ['name'],
};

const elicitName = (message: string) =>
  inputRequired({
    inputRequests: { who: inputRequired.elicit({ message, requestedSchema: NAME_SCHEMA }) },
  });
const sample = (prompt: string) =>
  inputRequired({
    inputRequests: {
      llm: inputRequired.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
        maxTokens: 20,
      }),
    },
  });
const nameOf = (responses: Record<string, unknown> | undefined): string | undefined => {
  const answer = inputResponse(responses, 'who');
  if (answer.kind !== 'elicit') return undefined;
  return answer.action === 'accept' ? String((answer.content as { name?: unknown })?.name) : answer.action;
};
const modelText = (responses: Record<string, unknown> | undefined): string | undefined => {
  const answer = inputResponse(responses, 'llm');
  if (answer.kind !== 'sampling') return undefined;
  const content = answer.result.content;
  const first = Array.isArray(content) ? content[0] : content;
  return first?.type === 'text' ? first.text : JSON.stringify(content);
};

/** Tools that ask the client: elicitation, sampling, roots, and two rounds. */
function registerAskingTools(server: McpServer): void {
  server.registerTool(
    'ask_name',
    { description: 'Asks the user for a name', inputSchema: z.object({ message: z.string().optional() }) },
    ({ message }, c) => {
      const name = nameOf(c.mcpReq.inputResponses);
      if (name !== undefined) return { content: [{ type: 'text', text: `hello ${name}` }] };
      return elicitName(message ?? 'What is your name?');
    },
  );

  server.registerTool(
    'ask_model',
    { description: 'Asks the client LLM', inputSchema: z.object({ prompt: z.string() }) },
    ({ prompt }, c) => {
      const text = modelText(c.mcpReq.inputResponses);
      if (text !== undefined) return { content: [{ type: 'text', text: `model said: ${text}` }] };
      return sample(prompt);
    },
  );

  server.registerTool('ask_roots', { description: 'Asks the client for its roots' }, (c) => {
    const answer = inputResponse(c.mcpReq.inputResponses, 'roots');
    if (answer.kind === 'roots') {
      return { content: [{ type: 'text', text: `roots: ${answer.roots.map((r) => r.uri).join(',')}` }] };
    }
    return inputRequired({ inputRequests: { roots: inputRequired.listRoots() } });
  });

  server.registerTool('ask_twice', { description: 'Elicitation, then sampling' }, (c) => {
    const state = c.mcpReq.requestState<string>();
    const responses = c.mcpReq.inputResponses;
    if (state === undefined) {
      const name = nameOf(responses);
      if (name === undefined) return elicitName('Who are you?');
      return inputRequired({
        requestState: `name=${name}`,
        inputRequests: {
          llm: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: `greet ${name}` } }],
            maxTokens: 20,
          }),
        },
      });
    }
    return { content: [{ type: 'text', text: `${state}; model said: ${modelText(responses)}` }] };
  });
}

/** `chatty` (logs) and `touch` (resource updated). */
function registerNotifyingTools(server: McpServer): void {
  server.registerTool('chatty', { description: 'Logs at four levels' }, async (c) => {
    for (const level of ['debug', 'info', 'warning', 'error'] as const) {
      await c.mcpReq.log(level, `${level} message`, 'chatty');
    }
    return { content: [{ type: 'text', text: 'chatted' }] };
  });

  server.registerTool(
    'touch',
    { description: 'Reports a resource updated', inputSchema: z.object({ uri: z.string() }) },
    async ({ uri }) => {
      await server.server.sendResourceUpdated({ uri });
      return { content: [{ type: 'text', text: `touched ${uri}` }] };
    },
  );
}

/** Two documents with subscriptions (answered by the legacy era's handlers). */
function registerResources(server: McpServer, era: string): void {
  for (const id of ['1', '2']) {
    server.registerResource(`doc${id}`, `${scheme}://doc/${id}`, { mimeType: 'text/plain' }, (uri) => ({
      contents: [{ uri: uri.href, text: `doc ${id}` }],
    }));
  }
  if (era === 'legacy') {
    server.server.setRequestHandler('resources/subscribe', () => ({}));
    server.server.setRequestHandler('resources/unsubscribe', () => ({}));
  }
}

serveStdio((ctx) => {
  const server = new McpServer(
    { name: 'relay-fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: {},
        resources: { subscribe: true, listChanged: true },
        logging: {},
      },
    },
  );
  registerAskingTools(server);
  registerNotifyingTools(server);
  registerResources(server, ctx.era);
  return server;
});
