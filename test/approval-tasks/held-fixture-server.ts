/**
 * A stdio upstream for the held-task tests (v1 SDK, the one with a tasks runtime), offering the
 * 2025-11-25 tasks utility for `tools/call`, so the connector offers it to agents.
 *
 * - `lookup` (task optional) `{ who }`: `customer <who>: contact <who>@example.com` — an e-mail address
 *   for the PII boundary. Called without a task (as the connector does once a held call is approved),
 *   the SDK runs the task itself and answers the plain result.
 * - `export` (task required) `{ who }`: a task of this server that completes with `exported <who>`.
 */
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const tasks = { list: {}, cancel: {}, requests: { tools: { call: {} } } };
const server = new McpServer(
  { name: 'held-fixture', version: '1.0.0' },
  { capabilities: { tools: {}, tasks }, taskStore: new InMemoryTaskStore() },
);

server.experimental.tasks.registerToolTask(
  'lookup',
  {
    description: 'Looks a customer up',
    inputSchema: { who: z.string() },
    execution: { taskSupport: 'optional' },
  },
  {
    createTask: async ({ who }, extra) => {
      const task = await extra.taskStore.createTask({ ttl: 60_000, pollInterval: 10 });
      const text = `customer ${who}: contact ${who}@example.com`;
      await extra.taskStore.storeTaskResult(task.taskId, 'completed', { content: [{ type: 'text', text }] });
      return { task };
    },
    getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
    getTaskResult: async (_args, extra) =>
      (await extra.taskStore.getTaskResult(extra.taskId)) as { content: [] },
  },
);

server.experimental.tasks.registerToolTask(
  'export',
  {
    description: 'Exports a customer, as a task',
    inputSchema: { who: z.string() },
    execution: { taskSupport: 'required' },
  },
  {
    createTask: async ({ who }, extra) => {
      const task = await extra.taskStore.createTask({ ttl: 60_000, pollInterval: 10 });
      await extra.taskStore.storeTaskResult(task.taskId, 'completed', {
        content: [{ type: 'text', text: `exported ${who}` }],
      });
      return { task };
    },
    getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
    getTaskResult: async (_args, extra) =>
      (await extra.taskStore.getTaskResult(extra.taskId)) as { content: [] },
  },
);

await server.connect(new StdioServerTransport());
