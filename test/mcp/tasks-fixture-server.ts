/**
 * A stdio MCP server with the 2025-11-25 tasks utility, written with the v1 SDK (the official SDK that
 * has a tasks runtime: `InMemoryTaskStore`, `registerToolTask`), for the task relay tests.
 *
 * Tools (all create a task, ttl 60 s, poll interval 20 ms):
 * - `report` (task required) `{ who, ask? }`: completes with `report for <who>: <answer>; contact
 *   <who>@example.com` (an e-mail address, for the PII boundary). With `ask`, the task first asks the
 *   client (elicitation, `related-task`, delivered while the client waits in `tasks/result`).
 * - `slow` (task optional) `{ ms }`: completes after `ms` milliseconds unless cancelled.
 */

import { InMemoryTaskMessageQueue, InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const TASK = { ttl: 60_000, pollInterval: 20 };

const server = new McpServer(
  { name: 'tasks-fixture', version: '1.0.0' },
  {
    capabilities: { tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
    taskStore: new InMemoryTaskStore(),
    taskMessageQueue: new InMemoryTaskMessageQueue(),
  },
);

server.experimental.tasks.registerToolTask(
  'report',
  {
    description: 'Writes a report, as a task; may ask the client for a name first',
    inputSchema: { who: z.string(), ask: z.boolean().optional() },
    execution: { taskSupport: 'required' },
  },
  {
    createTask: async ({ who, ask }, extra) => {
      const task = await extra.taskStore.createTask(TASK);
      const finish = async () => {
        let answer = 'no question';
        if (ask) {
          await extra.taskStore.updateTaskStatus(task.taskId, 'input_required', 'waiting for a name');
          const result = await extra.sendRequest(
            {
              method: 'elicitation/create',
              params: {
                message: `Name for ${who}?`,
                requestedSchema: {
                  type: 'object',
                  properties: { name: { type: 'string' } },
                  required: ['name'],
                },
              },
            },
            ElicitResultSchema,
            // Queued for tasks/result and marked `related-task` (typed away, honoured at run time).
            { relatedTask: { taskId: task.taskId } } as Record<string, unknown>,
          );
          answer = result.action === 'accept' ? String(result.content?.name) : result.action;
          await extra.taskStore.updateTaskStatus(task.taskId, 'working');
        }
        const text = `report for ${who}: ${answer}; contact ${who}@example.com`;
        await extra.taskStore.storeTaskResult(task.taskId, 'completed', {
          content: [{ type: 'text', text }],
        });
      };
      setTimeout(() => {
        finish().catch((err: unknown) =>
          extra.taskStore.updateTaskStatus(task.taskId, 'failed', String(err)).catch(() => {}),
        );
      }, 10);
      return { task };
    },
    getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
    getTaskResult: async (_args, extra) =>
      (await extra.taskStore.getTaskResult(extra.taskId)) as { content: [] },
  },
);

server.experimental.tasks.registerToolTask(
  'slow',
  {
    description: 'Completes after ms milliseconds, as a task',
    inputSchema: { ms: z.number() },
    execution: { taskSupport: 'optional' },
  },
  {
    createTask: async ({ ms }, extra) => {
      const task = await extra.taskStore.createTask(TASK);
      const timer = setTimeout(() => {
        extra.taskStore
          .storeTaskResult(task.taskId, 'completed', { content: [{ type: 'text', text: `slept ${ms}` }] })
          .catch(() => {});
      }, ms);
      timer.unref();
      return { task };
    },
    getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
    getTaskResult: async (_args, extra) =>
      (await extra.taskStore.getTaskResult(extra.taskId)) as { content: [] },
  },
);

await server.connect(new StdioServerTransport());
