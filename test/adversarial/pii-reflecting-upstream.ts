/**
 * A hostile stdio MCP server (v2 SDK, both eras) for the PII boundary tests: it holds raw personal data
 * and reflects whatever it receives into every field it can reach — content, `structuredContent`,
 * `_meta`, unknown fields, resource links, log messages, progress, errors (`message` and `data`),
 * server→client requests (sampling, elicitation), completions, resource URIs and its own stderr.
 *
 * Tools: `lookup` (a customer record with raw e-mail, card and name), `echo {message}` (reflects
 * everywhere), `fail {message}` (tool and prompt: an error quoting it), `ask_model {prompt}` (sampling with the
 * prompt), `ask_user {message}` (elicitation), `touch {uri}` (`notifications/resources/updated`).
 * Resources: `crm://customers/<e-mail>` (name, title and description with personal data; its text
 * reflects the URI read). Completions reflect the typed value. Run as
 * `node dist/test/adversarial/pii-reflecting-upstream.js`.
 */
import { inputRequired, inputResponse, McpServer, ProtocolError } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

export const CUSTOMER = {
  name: 'Anna Schmidt',
  email: 'anna.schmidt@example.com',
  card: '4111 1111 1111 1111',
};
export const CUSTOMER_URI = `crm://customers/${CUSTOMER.email}`;

type Reflector = McpServer;

/** Tools that hand out raw data or reflect their arguments into content, metadata, logs and errors. */
function registerReflectingTools(server: Reflector): void {
  server.registerTool('lookup', { description: 'Customer record' }, async () => ({
    content: [{ type: 'text', text: `${CUSTOMER.name} <${CUSTOMER.email}> card ${CUSTOMER.card}` }],
    structuredContent: { ...CUSTOMER },
  }));

  server.registerTool('echo', { inputSchema: z.object({ message: z.string() }) }, async ({ message }, c) => {
    process.stderr.write(`echo received ${message}\n`);
    await c.mcpReq.log('info', `log: ${message}`, 'reflector');
    const progressToken = c.mcpReq._meta?.progressToken;
    if (progressToken !== undefined) {
      await c.mcpReq.notify({
        method: 'notifications/progress',
        params: { progressToken, progress: 1, total: 2, message: `progress: ${message}` },
      });
    }
    return {
      content: [
        { type: 'text', text: message },
        {
          type: 'resource_link',
          uri: `crm://echo/${encodeURIComponent(message)}/${message}`,
          name: message,
          title: message,
          description: message,
        },
      ],
      structuredContent: { echo: message, nested: [{ deeper: message }] },
      _meta: { echo: message },
      unknownField: message,
    };
  });

  const refuse = (message: string): never => {
    throw new ProtocolError(-32602, `cannot process ${message}`, {
      echo: message,
      uri: `crm://${message}`,
    });
  };
  server.registerTool('fail', { inputSchema: z.object({ message: z.string() }) }, async ({ message }) =>
    refuse(message),
  );
  server.registerPrompt('fail', { argsSchema: z.object({ message: z.string() }) }, ({ message }) =>
    refuse(message),
  );
}

/** Tools that ask the agent (sampling, elicitation) with what they received. */
function registerAskingTools(server: Reflector): void {
  server.registerTool('ask_model', { inputSchema: z.object({ prompt: z.string() }) }, ({ prompt }, c) => {
    const answer = inputResponse(c.mcpReq.inputResponses, 'llm');
    if (answer.kind === 'sampling') {
      const content = answer.result.content;
      const first = Array.isArray(content) ? content[0] : content;
      return {
        content: [
          { type: 'text', text: `model said ${first?.type === 'text' ? first.text : ''} to ${prompt}` },
        ],
      };
    }
    return inputRequired({
      inputRequests: {
        llm: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
          systemPrompt: `You help ${prompt}`,
          maxTokens: 20,
        }),
      },
    });
  });

  server.registerTool('ask_user', { inputSchema: z.object({ message: z.string() }) }, ({ message }, c) => {
    const answer = inputResponse(c.mcpReq.inputResponses, 'who');
    if (answer.kind === 'elicit')
      return { content: [{ type: 'text', text: `${answer.action} for ${message}` }] };
    return inputRequired({
      inputRequests: {
        who: inputRequired.elicit({
          message: `Confirm ${message}`,
          requestedSchema: {
            type: 'object',
            properties: { ok: { type: 'string', description: `about ${message}` } },
          },
        }),
      },
    });
  });
}

/** The customer resource, subscriptions (2025-11-25), resource updates and reflecting completions. */
function registerResources(server: Reflector, era: string): void {
  server.registerTool('touch', { inputSchema: z.object({ uri: z.string() }) }, async ({ uri }) => {
    await server.server.sendResourceUpdated({ uri });
    return { content: [{ type: 'text', text: 'touched' }] };
  });

  server.registerResource(
    'customer',
    CUSTOMER_URI,
    {
      title: `${CUSTOMER.name} (${CUSTOMER.email})`,
      description: `card ${CUSTOMER.card}`,
      mimeType: 'text/plain',
    },
    (uri) => ({ contents: [{ uri: uri.href, text: `record of ${uri.href}` }] }),
  );
  if (era === 'legacy') {
    server.server.setRequestHandler('resources/subscribe', () => ({}));
    server.server.setRequestHandler('resources/unsubscribe', () => ({}));
  }
  server.server.setRequestHandler('completion/complete', (r) => ({
    completion: { values: [`${String(r.params.argument.value)}-${CUSTOMER.email}`] },
  }));
}

const isMain = import.meta.url === `file://${process.argv[1]}`;

if (isMain) {
  serveStdio((ctx) => {
    const server = new McpServer(
      { name: 'pii-reflector', version: '1.0.0' },
      {
        capabilities: {
          tools: {},
          prompts: {},
          resources: { subscribe: true },
          logging: {},
          completions: {},
        },
      },
    );
    registerReflectingTools(server);
    registerAskingTools(server);
    registerResources(server, ctx.era);
    return server;
  });
}
