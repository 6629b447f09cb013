/**
 * The SDK client transport to one upstream: Streamable HTTP (static headers, a custom fetch) or a stdio
 * child started through the sandbox (src/sandbox/), whose stderr goes to the log redacted or is dropped
 * (upstream-stderr.ts), never to the connector's stdout.
 *
 * @example
 * const { transport, sandboxed } = await createUpstreamTransport(config, { log, stderr: 'redact', isCurrent, taints });
 */
import type { Readable } from 'node:stream';
import { type FetchLike, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Logger } from 'pino';
import type { RequestTaint } from '../pii/request-taint.js';
import { prepareSandboxedCommand } from '../sandbox/sandboxed-command.js';
import type { UpstreamConfig } from './upstream-config.js';
import { logStderr, type StderrMode } from './upstream-stderr.js';

export interface UpstreamTransportOptions {
  log: Logger;
  fetch?: FetchLike;
  stderr: StderrMode;
  /** Whether the connection being made is still the current one (stderr of old children is ignored). */
  isCurrent: () => boolean;
  /** Taints of the requests in flight (stderr redaction). */
  taints: () => Iterable<RequestTaint | undefined>;
}

export async function createUpstreamTransport(
  config: UpstreamConfig,
  o: UpstreamTransportOptions,
): Promise<{ transport: Transport; sandboxed?: boolean }> {
  if (config.kind === 'http') {
    return {
      transport: new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: config.headers ? { headers: config.headers } : undefined,
        fetch: o.fetch,
      }),
    };
  }
  const spawn = await prepareSandboxedCommand(
    {
      name: config.name,
      command: config.command,
      args: config.args ?? [],
      env: config.env ?? {},
      ...(config.cwd ? { cwd: config.cwd } : {}),
      sandbox: config.sandbox,
    },
    { logger: o.log },
  );
  const transport = new StdioClientTransport({
    command: spawn.command,
    args: spawn.args,
    env: spawn.env,
    cwd: spawn.cwd,
    stderr: 'pipe',
  });
  const stderr = transport.stderr as Readable | null;
  if (stderr) logStderr(stderr, { log: o.log, mode: o.stderr, isCurrent: o.isCurrent, taints: o.taints });
  return { transport, sandboxed: spawn.sandboxed };
}
