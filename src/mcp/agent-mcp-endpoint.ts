/**
 * The agent-facing MCP endpoint of the connector: MCP Streamable HTTP at `/mcp` for both protocol eras,
 * built from the official SDK.
 *
 * - 2026-07-28 (modern, stateless): `createMcpHandler(factory, { legacy: 'reject' })`; list changes reach
 *   agents through `subscriptions/listen` (`handler.notify`).
 * - 2025-11-25 (legacy, sessionful): requests classified by `isLegacyRequest` go to one
 *   `WebStandardStreamableHTTPServerTransport` per `Mcp-Session-Id` (POST, GET SSE stream, DELETE); list
 *   changes go out on each session's GET stream.
 *
 * Each request is handled by a low-level SDK `Server` whose handlers build a `GatewayContext` and run the
 * gateway pipeline (`stages`, see src/gateway/gateway-stages.ts) with the upstream catalog as terminal.
 * Progress from upstreams is forwarded to the agent's progress token, cancellation aborts the upstream
 * request, upstream JSON-RPC errors and tool results pass through unchanged.
 *
 * The identity comes from the transport as SDK `AuthInfo` (see agent-auth-info.ts); requests without one
 * are refused with 401. A legacy session is bound to the identity that created it: any other identity
 * presenting that `Mcp-Session-Id` gets 404.
 *
 * @example
 * const endpoint = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: store.identities }) });
 * const agents = new AgentEndpoint({ tls, identities: store.identities, handler: endpoint.nodeHandler });
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type NodeMcpRequestHandler, toNodeHandler } from '@modelcontextprotocol/node';
import {
  type AuthInfo,
  type CallToolResult,
  type CompleteResult,
  createMcpHandler,
  type GetPromptResult,
  type Implementation,
  isLegacyRequest,
  type ListPromptsResult,
  type ListResourcesResult,
  type ListResourceTemplatesResult,
  type ListToolsResult,
  type McpHttpHandler,
  ProtocolError,
  type ReadResourceResult,
  Server,
  type ServerContext,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { type Logger, pino } from 'pino';
import { JSONRPC_METHOD_NOT_FOUND, WireError } from '../errors/wire-error.js';
import { JSONRPC_UNAUTHENTICATED } from '../gateway/authenticate-stage.js';
import { compose } from '../gateway/compose.js';
import type {
  GatewayContext,
  GatewayEra,
  Handler,
  ProgressUpdate,
  Stage,
} from '../gateway/gateway-context.js';
import { identityFromAuthInfo } from './agent-auth-info.js';
import { refusalResponse, writeRefusal } from './json-rpc-http-error.js';
import { toProtocolError } from './protocol-error-mapping.js';
import type { UpstreamCatalog } from './upstream-catalog.js';

/** Default largest request body (4 MiB), as the SDK's own default. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;
/** Default most concurrent legacy (2025-era) sessions. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Default idle time after which a legacy session with no open request or stream is closed (30 min). */
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
/** Default path of the MCP endpoint. */
export const DEFAULT_MCP_PATH = '/mcp';

/** What the endpoint needs from the catalog (an `UpstreamCatalog`, or anything shaped like it). */
export type AgentCatalog = Pick<
  UpstreamCatalog,
  | 'tools'
  | 'prompts'
  | 'resources'
  | 'resourceTemplates'
  | 'callTool'
  | 'getPrompt'
  | 'readResource'
  | 'complete'
  | 'onChanged'
>;

export interface AgentMcpEndpointOptions {
  catalog: AgentCatalog;
  /** Gateway stages, outermost first. Use `gatewayStages(...)`; an empty list means no checks at all. */
  stages: readonly Stage[];
  /** Path served. Default {@link DEFAULT_MCP_PATH}; other paths get 404. */
  path?: string;
  /** How the gateway introduces itself to agents. */
  serverInfo?: Implementation;
  instructions?: string;
  /** Default {@link DEFAULT_MAX_REQUEST_BODY_BYTES}; larger bodies get 413. */
  maxRequestBodyBytes?: number;
  /** Default {@link DEFAULT_MAX_SESSIONS}; a new legacy session beyond it gets 503. */
  maxSessions?: number;
  /** Default {@link DEFAULT_SESSION_IDLE_TIMEOUT_MS}. */
  sessionIdleTimeoutMs?: number;
  /** Default silent. */
  logger?: Logger;
}

/** A live legacy session, for the console. */
export interface AgentSessionInfo {
  id: string;
  identity: string;
  createdAt: number;
  lastSeenAt: number;
  /** Requests and streams currently open on the session. */
  open: number;
}

interface LegacySession {
  id: string;
  owner: string;
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
  createdAt: number;
  lastSeenAt: number;
  open: number;
}

export class AgentMcpEndpoint {
  /** Node `(req, res)` handler: serves the MCP path, 404 elsewhere. Identity from `req.auth` (AuthInfo). */
  readonly nodeHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;

  readonly #catalog: AgentCatalog;
  readonly #pipeline: Handler;
  readonly #path: string;
  readonly #serverInfo: Implementation;
  readonly #instructions: string | undefined;
  readonly #maxBody: number;
  readonly #maxSessions: number;
  readonly #idleMs: number;
  readonly #log: Logger;
  readonly #modern: McpHttpHandler;
  readonly #node: NodeMcpRequestHandler;
  readonly #sessions = new Map<string, LegacySession>();
  readonly #sweep: NodeJS.Timeout;
  readonly #offCatalog: () => void;
  #pendingSessions = 0;
  #closed = false;

  constructor(options: AgentMcpEndpointOptions) {
    this.#catalog = options.catalog;
    this.#path = options.path ?? DEFAULT_MCP_PATH;
    this.#serverInfo = options.serverInfo ?? { name: 'airlock', version: '0.1.0' };
    this.#instructions = options.instructions;
    this.#maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.#idleMs = options.sessionIdleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'agent-mcp' });
    this.#pipeline = compose(options.stages, (ctx) => this.#route(ctx));
    const onerror = (err: Error) => this.#log.debug({ err: err.message }, 'mcp endpoint error');
    this.#modern = createMcpHandler(() => this.#buildServer('modern'), {
      legacy: 'reject',
      maxRequestBodySize: this.#maxBody,
      onerror,
    });
    this.#node = toNodeHandler(
      { fetch: (request, opts) => this.fetch(request, opts) },
      { maxRequestBodySize: this.#maxBody, onerror },
    );
    this.nodeHandler = (req, res) => this.#handleNode(req, res);
    this.#offCatalog = this.#catalog.onChanged((kind) => this.#notifyListChanged(kind));
    this.#sweep = setInterval(
      () => this.#sweepIdle(),
      Math.max(10, Math.min(this.#idleMs / 2, 60_000)),
    ).unref();
  }

  /**
   * Web-standard face: serves one HTTP request to the MCP path (both eras). The caller (TLS termination)
   * supplies the authenticated identity as `authInfo`.
   */
  async fetch(request: Request, options: { authInfo?: AuthInfo } = {}): Promise<Response> {
    if (this.#closed) {
      return refusalResponse({
        status: 503,
        code: -32000,
        airlock: 'AIRLOCK_SHUTTING_DOWN',
        message: 'Endpoint is shutting down',
      });
    }
    const identity = identityFromAuthInfo(options.authInfo);
    if (!identity) {
      return refusalResponse({
        status: 401,
        code: JSONRPC_UNAUTHENTICATED,
        airlock: 'AIRLOCK_IDENTITY_MISSING',
        message: 'No authenticated identity: present a client certificate issued by the tenant CA',
      });
    }
    let legacy: boolean;
    try {
      legacy = await isLegacyRequest(request, undefined, { maxRequestBodySize: this.#maxBody });
    } catch {
      legacy = false; // the modern leg owns every error answer
    }
    if (!legacy) return this.#modern.fetch(request, { authInfo: options.authInfo });
    return this.#legacy(request, identity.name, options.authInfo);
  }

  /** Live legacy sessions. */
  sessions(): AgentSessionInfo[] {
    return [...this.#sessions.values()].map((s) => ({
      id: s.id,
      identity: s.owner,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      open: s.open,
    }));
  }

  /** Closes every legacy session of an identity (e.g. after revocation). Returns how many were closed. */
  async closeSessionsOf(identityName: string): Promise<number> {
    const victims = [...this.#sessions.values()].filter((s) => s.owner === identityName);
    await Promise.all(victims.map((s) => this.#closeSession(s)));
    return victims.length;
  }

  /**
   * Tells every connected agent that a list changed, in both eras (`notifications/<kind>/list_changed`
   * on each legacy session's stream and to modern `subscriptions/listen` streams), e.g. after the
   * tool kill switch: `pinning.onChanged(() => endpoint.notifyListChanged('tools'))`.
   */
  notifyListChanged(kind: 'tools' | 'prompts' | 'resources'): void {
    if (!this.#closed) this.#notifyListChanged(kind);
  }

  /** Closes all sessions and the modern handler. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#offCatalog();
    await Promise.all([...this.#sessions.values()].map((s) => this.#closeSession(s)));
    await this.#modern.close();
  }

  // ---------------------------------------------------------------------------------------------

  async #handleNode(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== this.#path) {
      writeRefusal(res, {
        status: 404,
        code: -32000,
        airlock: 'AIRLOCK_NOT_FOUND',
        message: `Not found; the MCP endpoint is ${this.#path}`,
      });
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    const session = typeof sessionId === 'string' ? this.#sessions.get(sessionId) : undefined;
    const identity = identityFromAuthInfo((req as IncomingMessage & { auth?: AuthInfo }).auth);
    if (session && identity?.name === session.owner) {
      session.open++;
      session.lastSeenAt = Date.now();
      res.once('close', () => {
        session.open--;
        session.lastSeenAt = Date.now();
      });
    }
    await this.#node(req, res);
  }

  async #legacy(request: Request, owner: string, authInfo: AuthInfo | undefined): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = this.#sessions.get(sessionId);
      if (!session || session.owner !== owner) {
        return refusalResponse({
          status: 404,
          code: -32001,
          airlock: 'AIRLOCK_SESSION_NOT_FOUND',
          message: 'Session not found',
        });
      }
      session.lastSeenAt = Date.now();
      return session.transport.handleRequest(request, { authInfo });
    }
    if (request.method !== 'POST') {
      return refusalResponse({
        status: 400,
        code: -32000,
        airlock: 'AIRLOCK_SESSION_REQUIRED',
        message: 'Bad Request: Mcp-Session-Id header is required',
      });
    }
    if (this.#sessions.size + this.#pendingSessions >= this.#maxSessions) {
      return refusalResponse({
        status: 503,
        code: -32000,
        airlock: 'AIRLOCK_SESSION_LIMIT',
        message: 'Too many sessions; retry later',
        headers: { 'retry-after': '5' },
      });
    }
    this.#pendingSessions++;
    const server = this.#buildServer('legacy');
    let registered: LegacySession | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: this.#maxBody,
      onsessioninitialized: (id) => {
        const now = Date.now();
        registered = { id, owner, server, transport, createdAt: now, lastSeenAt: now, open: 0 };
        this.#sessions.set(id, registered);
        this.#log.info({ session: id, identity: owner }, 'legacy session opened');
      },
      onsessionclosed: (id) => {
        const session = this.#sessions.get(id);
        if (session) void this.#closeSession(session);
      },
    });
    server.onclose = () => {
      if (registered && this.#sessions.get(registered.id) === registered)
        this.#sessions.delete(registered.id);
    };
    try {
      await server.connect(transport);
      const response = await transport.handleRequest(request, { authInfo });
      if (!registered) await server.close().catch(() => {}); // not an initialize request: nothing to keep
      return response;
    } finally {
      this.#pendingSessions--;
    }
  }

  async #closeSession(session: LegacySession): Promise<void> {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    await session.server.close().catch(() => {});
    this.#log.info({ session: session.id, identity: session.owner }, 'legacy session closed');
  }

  #sweepIdle(): void {
    const now = Date.now();
    for (const session of this.#sessions.values()) {
      if (session.open <= 0 && now - session.lastSeenAt >= this.#idleMs) void this.#closeSession(session);
    }
  }

  #notifyListChanged(kind: 'tools' | 'prompts' | 'resources'): void {
    const send = (s: Server) =>
      kind === 'tools'
        ? s.sendToolListChanged()
        : kind === 'prompts'
          ? s.sendPromptListChanged()
          : s.sendResourceListChanged();
    for (const session of this.#sessions.values()) {
      send(session.server).catch((err: unknown) =>
        this.#log.debug({ err: String(err) }, 'list_changed not delivered'),
      );
    }
    if (kind === 'tools') this.#modern.notify.toolsChanged();
    else if (kind === 'prompts') this.#modern.notify.promptsChanged();
    else this.#modern.notify.resourcesChanged();
  }

  #buildServer(era: GatewayEra): Server {
    const server = new Server(this.#serverInfo, {
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { listChanged: true },
        completions: {},
      },
      instructions: this.#instructions,
    });
    const run = (method: string, params: unknown, ctx: ServerContext) => this.#run(era, method, params, ctx);
    server.setRequestHandler(
      'tools/list',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as ListToolsResult,
    );
    server.setRequestHandler(
      'tools/call',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as CallToolResult,
    );
    server.setRequestHandler(
      'prompts/list',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as ListPromptsResult,
    );
    server.setRequestHandler(
      'prompts/get',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as GetPromptResult,
    );
    server.setRequestHandler(
      'resources/list',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as ListResourcesResult,
    );
    server.setRequestHandler(
      'resources/templates/list',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as ListResourceTemplatesResult,
    );
    server.setRequestHandler(
      'resources/read',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as ReadResourceResult,
    );
    server.setRequestHandler(
      'completion/complete',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as CompleteResult,
    );
    return server;
  }

  async #run(era: GatewayEra, method: string, params: unknown, ctx: ServerContext): Promise<unknown> {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    const gatewayCtx: GatewayContext = {
      identity: identityFromAuthInfo(ctx.http?.authInfo),
      era,
      sessionId: ctx.sessionId,
      method,
      params: params !== null && typeof params === 'object' ? { ...(params as Record<string, unknown>) } : {},
      requestId: ctx.mcpReq.id,
      signal: ctx.mcpReq.signal,
      progressToken,
      sendProgress: async (update: ProgressUpdate) => {
        if (progressToken === undefined || ctx.mcpReq.signal.aborted) return;
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { ...update, progressToken } });
      },
      decisions: [],
      startedAt: Date.now(),
    };
    try {
      return await this.#pipeline(gatewayCtx);
    } catch (err) {
      throw this.#toProtocolError(err, method);
    }
  }

  /** The pipeline's terminal: route to the catalog. */
  async #route(ctx: GatewayContext): Promise<unknown> {
    const catalog = this.#catalog;
    switch (ctx.method) {
      case 'tools/list':
        return { tools: catalog.tools() };
      case 'prompts/list':
        return { prompts: catalog.prompts() };
      case 'resources/list':
        return { resources: catalog.resources() };
      case 'resources/templates/list':
        return { resourceTemplates: catalog.resourceTemplates() };
      case 'tools/call':
        return this.#withProgress(ctx, (opts) => catalog.callTool(ctx.params, opts));
      case 'prompts/get':
        return this.#withProgress(ctx, (opts) => catalog.getPrompt(ctx.params, opts));
      case 'resources/read':
        return this.#withProgress(ctx, (opts) => catalog.readResource(ctx.params, opts));
      case 'completion/complete':
        return this.#withProgress(ctx, (opts) => catalog.complete(ctx.params, opts));
      default:
        throw new WireError(
          JSONRPC_METHOD_NOT_FOUND,
          'AIRLOCK_METHOD_NOT_FOUND',
          `Method not found: ${ctx.method}`,
        );
    }
  }

  /** Calls the upstream with the agent's abort signal, relaying progress in order; flushed before the result. */
  async #withProgress(
    ctx: GatewayContext,
    call: (opts: {
      signal: AbortSignal;
      onprogress: (p: ProgressUpdate) => void;
    }) => Promise<Record<string, unknown>>,
  ): Promise<Record<string, unknown>> {
    let relayed: Promise<void> = Promise.resolve();
    const onprogress = (p: ProgressUpdate) => {
      const update: ProgressUpdate = { progress: p.progress };
      if (p.total !== undefined) update.total = p.total;
      if (p.message !== undefined) update.message = p.message;
      relayed = relayed.then(() => ctx.sendProgress(update)).catch(() => {});
    };
    try {
      return await call({ signal: ctx.signal, onprogress });
    } finally {
      await relayed;
    }
  }

  #toProtocolError(err: unknown, method: string): ProtocolError {
    if (!(err instanceof ProtocolError) && !(err instanceof WireError)) {
      this.#log.warn(
        { method, err: err instanceof Error ? err.message : String(err) },
        'unexpected gateway error',
      );
    }
    return toProtocolError(err);
  }
}
