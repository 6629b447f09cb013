/**
 * The agent-side stdio bridge: a stdio MCP server for desktop MCP clients that only speak stdio, which
 * forwards everything to a tenant URL over pinned TLS. Both sides are the official SDK: an SDK `Client`
 * connected to the tenant, and a low-level SDK `Server` per stdio connection (served by `serveStdio`,
 * so the desktop client may speak either protocol era).
 *
 * Forwarded: tools/list, tools/call (progress and cancellation included), resources/list,
 * resources/templates/list, resources/read, resources/subscribe + unsubscribe (when the tenant offers
 * them on the 2025 era), prompts/list, prompts/get, completion/complete, logging/setLevel, and the
 * tenant's list_changed, resources/updated and log notifications. The bridge advertises exactly the
 * tenant's capabilities (within that list).
 *
 * @example
 * const bridge = await runBridge(await loadTenantConnection(files), { stdin: process.stdin, stdout: process.stdout });
 * await bridge.closed; // resolves when the desktop client closes stdin or `bridge.close()` is called
 */
import type { Readable, Writable } from 'node:stream';
import type {
  Client,
  ConnectOptions,
  Implementation,
  ListChangedOptions,
  Progress,
  RequestOptions,
} from '@modelcontextprotocol/client';
import { Server, type ServerCapabilities, type ServerContext } from '@modelcontextprotocol/server';
import { StdioServerTransport, serveStdio } from '@modelcontextprotocol/server/stdio';
import pino, { type Logger } from 'pino';
import type { TenantConnection } from './tenant-connection.js';
import { tenantFailure } from './tenant-failure.js';
import {
  connectToTenant,
  DEFAULT_AGENT_CLIENT_INFO,
  type TenantTransportOptions,
} from './tenant-transport.js';

/**
 * Upper bound for one forwarded request to the tenant. Generous because a tool call may wait in the
 * tenant's human approval queue (up to `approvals.holdMs`, at most 10 min); progress notifications,
 * which the bridge always asks the tenant for, reset it. The desktop client's own timeout
 * (and its cancellation, which the bridge forwards) usually ends a call first.
 */
export const DEFAULT_BRIDGE_REQUEST_TIMEOUT_MS = 15 * 60 * 1000;

/** Client identity the bridge announces to the tenant. */
export const DEFAULT_BRIDGE_CLIENT_INFO: Implementation = {
  name: 'airlock-bridge',
  version: DEFAULT_AGENT_CLIENT_INFO.version,
};

export interface BridgeIo {
  /** Where the desktop client's messages arrive (newline-delimited JSON-RPC). */
  stdin: Readable;
  /** Where the bridge writes its messages. Nothing else may write here. */
  stdout: Writable;
}

export interface BridgeOptions {
  /** Per-request timeout towards the tenant. Default {@link DEFAULT_BRIDGE_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** Identity announced to the tenant. Default {@link DEFAULT_BRIDGE_CLIENT_INFO}. */
  clientInfo?: Implementation;
  /** Transport and TLS options of the tenant connection. */
  transport?: TenantTransportOptions;
  /** Options of the tenant connect (timeout, abort). */
  connect?: ConnectOptions;
  /** Diagnostics (never written to stdout). Default: silent. */
  logger?: Logger;
}

export interface BridgeHandle {
  /** The SDK client connected to the tenant. */
  readonly upstream: Client;
  /** Resolves once the bridge has shut down (stdin ended or `close()`); never rejects. */
  readonly closed: Promise<void>;
  /** Stops serving stdio and closes the tenant connection. Idempotent. */
  close(): Promise<void>;
}

type Meta = Record<string, unknown> | undefined;

/** Removes the desktop client's progress token: the SDK puts its own on the tenant-side request. */
function withoutProgressToken<P extends { _meta?: Meta }>(params: P): P {
  if (params._meta === undefined || !('progressToken' in params._meta)) return params;
  const { progressToken: _progressToken, ...meta } = params._meta;
  return { ...params, _meta: meta };
}

function forwardCapabilities(upstream: ServerCapabilities, legacyUpstream: boolean): ServerCapabilities {
  const caps: ServerCapabilities = {};
  if (upstream.tools) caps.tools = { listChanged: upstream.tools.listChanged === true };
  if (upstream.prompts) caps.prompts = { listChanged: upstream.prompts.listChanged === true };
  if (upstream.resources) {
    caps.resources = {
      listChanged: upstream.resources.listChanged === true,
      subscribe: legacyUpstream && upstream.resources.subscribe === true,
    };
  }
  if (upstream.completions) caps.completions = {};
  if (upstream.logging) caps.logging = {};
  return caps;
}

/** The stdio-side servers (one per stdio connection) and how tenant notifications reach them all. */
interface Downstream {
  readonly servers: Set<Server>;
  broadcast(what: string, send: (server: Server) => Promise<void>): void;
  onListChanged<T>(what: string, send: (server: Server) => Promise<void>): ListChangedOptions<T>;
}

function downstreamFanOut(log: Logger): Downstream {
  const servers = new Set<Server>();
  const broadcast = (what: string, send: (server: Server) => Promise<void>): void => {
    for (const server of servers) {
      send(server).catch((err: unknown) => log.debug({ err, what }, 'bridge: notification not delivered'));
    }
  };
  return {
    servers,
    broadcast,
    onListChanged: (what, send) => ({
      autoRefresh: false,
      debounceMs: 0,
      onChanged: () => broadcast(what, send),
    }),
  };
}

/** The SDK client towards the tenant, with list_changed, resources/updated and log notifications fanned out. */
async function connectBridgeUpstream(
  conn: TenantConnection,
  opts: BridgeOptions,
  downstream: Downstream,
  log: Logger,
): Promise<Client> {
  const { onListChanged, broadcast } = downstream;
  const upstream = await connectToTenant(conn, opts.clientInfo ?? DEFAULT_BRIDGE_CLIENT_INFO, {
    transport: opts.transport,
    connect: opts.connect,
    client: {
      versionNegotiation: { mode: 'auto' },
      listChanged: {
        tools: onListChanged('tools/list_changed', (s) => s.sendToolListChanged()),
        prompts: onListChanged('prompts/list_changed', (s) => s.sendPromptListChanged()),
        resources: onListChanged('resources/list_changed', (s) => s.sendResourceListChanged()),
      },
    },
  });
  upstream.onerror = (err) => {
    const failure = tenantFailure(err, conn);
    const { code, hint } = failure as { code?: string; hint?: string };
    log.warn({ code, hint }, `bridge: tenant connection error: ${failure.message}`);
  };
  upstream.setNotificationHandler('notifications/resources/updated', (n) =>
    broadcast('resources/updated', (s) => s.sendResourceUpdated(n.params)),
  );
  upstream.setNotificationHandler('notifications/message', (n) =>
    broadcast('message', (s) => s.sendLoggingMessage(n.params)),
  );
  return upstream;
}

type ForwardOptions = (ctx: ServerContext, progressToken?: string | number) => RequestOptions;

/**
 * Request options of one forwarded request. Progress is always asked of the tenant (a held approval
 * reports it and so keeps the request's timeout from running out); it reaches the desktop client
 * when that client asked for it.
 */
function forwardOptions(timeout: number, log: Logger): ForwardOptions {
  return (ctx, progressToken) => ({
    signal: ctx.mcpReq.signal,
    timeout,
    resetTimeoutOnProgress: true,
    onprogress: (progress: Progress) => {
      if (progressToken === undefined) return;
      ctx.mcpReq
        .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
        .catch((err: unknown) => log.debug({ err }, 'bridge: progress not delivered'));
    },
  });
}

/** Registers on one stdio-side server a forwarding handler for each method the tenant offers. */
function forwardRequests(
  server: Server,
  upstream: Client,
  caps: ServerCapabilities,
  options: ForwardOptions,
): void {
  if (caps.tools) {
    server.setRequestHandler('tools/list', (req, ctx) =>
      upstream.listTools(req.params, { ...options(ctx), cacheMode: 'refresh' }),
    );
    server.setRequestHandler('tools/call', (req, ctx) =>
      upstream.callTool(withoutProgressToken(req.params), options(ctx, req.params._meta?.progressToken)),
    );
  }
  if (caps.resources) {
    server.setRequestHandler('resources/list', (req, ctx) =>
      upstream.listResources(req.params, { ...options(ctx), cacheMode: 'bypass' }),
    );
    server.setRequestHandler('resources/templates/list', (req, ctx) =>
      upstream.listResourceTemplates(req.params, { ...options(ctx), cacheMode: 'bypass' }),
    );
    server.setRequestHandler('resources/read', (req, ctx) =>
      upstream.readResource(withoutProgressToken(req.params), {
        ...options(ctx, req.params._meta?.progressToken),
        cacheMode: 'bypass',
      }),
    );
    if (caps.resources.subscribe) {
      server.setRequestHandler('resources/subscribe', (req, ctx) =>
        upstream.subscribeResource(req.params, options(ctx)),
      );
      server.setRequestHandler('resources/unsubscribe', (req, ctx) =>
        upstream.unsubscribeResource(req.params, options(ctx)),
      );
    }
  }
  if (caps.prompts) {
    server.setRequestHandler('prompts/list', (req, ctx) =>
      upstream.listPrompts(req.params, { ...options(ctx), cacheMode: 'bypass' }),
    );
    server.setRequestHandler('prompts/get', (req, ctx) =>
      upstream.getPrompt(withoutProgressToken(req.params), options(ctx, req.params._meta?.progressToken)),
    );
  }
  if (caps.completions) {
    server.setRequestHandler('completion/complete', (req, ctx) =>
      upstream.complete(req.params, options(ctx)),
    );
  }
  if (caps.logging) {
    server.setRequestHandler('logging/setLevel', (req, ctx) =>
      upstream.setLoggingLevel(req.params.level, options(ctx)),
    );
  }
}

/** Makes the stdio-side server for one connection: the tenant's identity, capabilities and instructions. */
function stdioServerFactory(
  upstream: Client,
  downstream: Downstream,
  timeout: number,
  log: Logger,
): () => Server {
  const legacyUpstream = upstream.getProtocolEra() !== 'modern';
  const capabilities = forwardCapabilities(upstream.getServerCapabilities() ?? {}, legacyUpstream);
  const serverInfo: Implementation = upstream.getServerVersion() ?? {
    name: 'airlock-bridge',
    version: DEFAULT_AGENT_CLIENT_INFO.version,
  };
  const instructions = upstream.getInstructions();
  const options = forwardOptions(timeout, log);
  return () => {
    const server = new Server(serverInfo, { capabilities, ...(instructions ? { instructions } : {}) });
    forwardRequests(server, upstream, capabilities, options);
    downstream.servers.add(server);
    server.onclose = () => downstream.servers.delete(server);
    server.onerror = (err) => log.debug({ err }, 'bridge: stdio side error');
    return server;
  };
}

/**
 * Connects to the tenant, then serves stdio until `io.stdin` ends. Rejects with a `TenantFailureError`
 * (stable code, hint, the connector's reason) if the tenant connection fails (TLS, refused client
 * certificate, unreachable): nothing is served in that case. Later connection errors are logged with
 * their code and hint.
 *
 * @example
 * const bridge = await runBridge(conn, { stdin: process.stdin, stdout: process.stdout }, { requestTimeoutMs: 60_000 });
 */
export async function runBridge(
  conn: TenantConnection,
  io: BridgeIo,
  opts: BridgeOptions = {},
): Promise<BridgeHandle> {
  const log = opts.logger ?? pino({ level: 'silent' });
  const timeout = opts.requestTimeoutMs ?? DEFAULT_BRIDGE_REQUEST_TIMEOUT_MS;
  const downstream = downstreamFanOut(log);
  const upstream = await connectBridgeUpstream(conn, opts, downstream, log);
  const stdio = serveStdio(stdioServerFactory(upstream, downstream, timeout, log), {
    transport: new StdioServerTransport(io.stdin, io.stdout),
    onerror: (err) => log.debug({ err }, 'bridge: stdio entry error'),
  });

  let finish: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      io.stdin.off('end', onEnd);
      io.stdin.off('close', onEnd);
      await stdio.close().catch((err: unknown) => log.debug({ err }, 'bridge: closing stdio failed'));
      await upstream
        .close()
        .catch((err: unknown) => log.debug({ err }, 'bridge: closing tenant client failed'));
      downstream.servers.clear();
      finish();
    })();
    return closing;
  };
  const onEnd = (): void => {
    void close();
  };
  io.stdin.once('end', onEnd);
  io.stdin.once('close', onEnd);

  return { upstream, closed, close };
}
