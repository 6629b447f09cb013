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
 * Transparency beyond request/response (each of these methods also runs the gateway pipeline):
 * - Logging: `logging` is advertised. `logging/setLevel` (2025-11-25) is remembered per session and the
 *   most verbose level of all sessions is set on 2025-11-25 upstreams that log; 2026-07-28 upstreams get
 *   the agent's level in each request's envelope. Upstream `notifications/message` sent while serving a
 *   request are relayed to that request's agent (related to the request), filtered by its level.
 * - Server→client requests (sampling, elicitation, roots) asked by an upstream while serving an agent's
 *   `tools/call`, `prompts/get` or `resources/read` reach THAT agent as a multi-round-trip exchange
 *   (relayed-call.ts, upstream-interaction.ts): 2026-07-28 agents get `input_required`; on 2025-11-25
 *   sessions the SDK's legacy shim sends real server→client requests on the request's stream. Off with
 *   `allowServerRequests: false` (refused with a clear error).
 * - Resource subscriptions: `resources/subscribe` / `unsubscribe` (2025-11-25 sessions) are routed to the
 *   upstream owning the URI and remembered per session; 2026-07-28 agents subscribe with the
 *   `resourceSubscriptions` filter of `subscriptions/listen`. Upstream `notifications/resources/updated`
 *   reach the subscribed sessions and listen streams.
 *
 * The identity comes from the transport as SDK `AuthInfo` (see agent-auth-info.ts); requests without one
 * are refused with 401. A legacy session is bound to the identity that created it: any other identity
 * presenting that `Mcp-Session-Id` gets 404.
 *
 * @example
 * const endpoint = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: store.identities }) });
 * const agents = new AgentEndpoint({ tls, identities: store.identities, handler: endpoint.nodeHandler });
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type NodeMcpRequestHandler, toNodeHandler } from '@modelcontextprotocol/node';
import {
  type AuthInfo,
  type CallToolResult,
  type CompleteResult,
  createMcpHandler,
  type EmptyResult,
  type GetPromptResult,
  type Implementation,
  isLegacyRequest,
  type ListPromptsResult,
  type ListResourcesResult,
  type ListResourceTemplatesResult,
  type ListToolsResult,
  LOG_LEVEL_META_KEY,
  type LoggingLevel,
  type LoggingMessageNotificationParams,
  type McpHttpHandler,
  ProtocolError,
  type ReadResourceResult,
  Server,
  type ServerContext,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { type Logger, pino } from 'pino';
import {
  JSONRPC_INTERNAL_ERROR,
  JSONRPC_INVALID_PARAMS,
  JSONRPC_INVALID_REQUEST,
  JSONRPC_METHOD_NOT_FOUND,
  JSONRPC_PARSE_ERROR,
  toWireError,
  WireError,
} from '../errors/wire-error.js';
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
import { checkJsonBody, DEFAULT_MAX_JSON_DEPTH, readBoundedBody } from './json-body-check.js';
import { refusalResponse, writeRefusal } from './json-rpc-http-error.js';
import { isLoggingLevel, mostVerboseLevel, passesLogThreshold } from './log-levels.js';
import { toProtocolError } from './protocol-error-mapping.js';
import { type AgentTurn, isRelayState, RelayedCalls, type StartRelayedCall } from './relayed-call.js';
import type { UpstreamRequestOptions } from './upstream.js';
import type { UpstreamCatalog } from './upstream-catalog.js';
import { relayableCapabilities } from './upstream-interaction.js';

/** Default largest request body (4 MiB), as the SDK's own default. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;
/** Default most concurrent legacy (2025-era) sessions. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Default idle time after which a legacy session with no open request or stream is closed (30 min). */
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
/** Default path of the MCP endpoint. */
export const DEFAULT_MCP_PATH = '/mcp';
/** Default most resources one legacy session (or one modern listen stream) may subscribe to. */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION = 100;

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
  | 'subscribeResource'
  | 'unsubscribeResource'
  | 'onResourceUpdated'
  | 'setLoggingLevel'
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
  /** Deepest JSON nesting accepted in a request body. Default {@link DEFAULT_MAX_JSON_DEPTH} (64). */
  maxJsonDepth?: number;
  /** Default {@link DEFAULT_MAX_SESSIONS}; a new legacy session beyond it gets 503. */
  maxSessions?: number;
  /** Default {@link DEFAULT_SESSION_IDLE_TIMEOUT_MS}. */
  sessionIdleTimeoutMs?: number;
  /**
   * Relay upstreams' server→client requests (sampling, elicitation, roots) to the agent whose request
   * they serve. Default `true`; `false` refuses them with a clear error (connector `mcp.allowServerRequests`).
   */
  allowServerRequests?: boolean;
  /** How long a call waits for the agent's answers. Default {@link DEFAULT_INPUT_WAIT_MS}. */
  inputWaitMs?: number;
  /** Default {@link DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION}. */
  maxSubscriptionsPerSession?: number;
  /** Default silent. */
  /**
   * Headers for requests to HTTP upstreams on behalf of this request: e.g. a short-lived token minted
   * for the end user (`UpstreamTokenMinter.mintUpstreamHeaders`). Never the agent's own credential.
   */
  upstreamHeaders?: (ctx: GatewayContext, upstream: string) => Promise<Record<string, string>>;
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
  /** Set by `logging/setLevel`; unset means every message. */
  logLevel?: LoggingLevel;
  /** Resource URIs this session subscribed to. */
  subscriptions: Set<string>;
}

/** What the route needs to know about the agent request behind a gateway context. */
interface AgentRequest {
  server: Server;
  serverCtx: ServerContext;
  session: LegacySession | undefined;
}

export class AgentMcpEndpoint {
  /** Node `(req, res)` handler: serves the MCP path, 404 elsewhere. Identity from `req.auth` (AuthInfo). */
  readonly nodeHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;

  readonly #catalog: AgentCatalog;
  readonly #maxJsonDepth: number;
  readonly #upstreamHeaders: AgentMcpEndpointOptions['upstreamHeaders'];
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
  readonly #offResourceUpdated: () => void;
  readonly #relayed: RelayedCalls;
  /**
   * The agent request behind the pipeline run in progress. A context, not a map keyed by the
   * `GatewayContext`: stages may hand `next` a derived context (e.g. the budget stage's timeout view).
   */
  readonly #agentRequest = new AsyncLocalStorage<AgentRequest>();
  readonly #maxSubscriptions: number;
  #pendingSessions = 0;
  #closed = false;

  constructor(options: AgentMcpEndpointOptions) {
    this.#catalog = options.catalog;
    this.#upstreamHeaders = options.upstreamHeaders;
    this.#path = options.path ?? DEFAULT_MCP_PATH;
    this.#serverInfo = options.serverInfo ?? { name: 'airlock', version: '0.1.0' };
    this.#instructions = options.instructions;
    this.#maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    this.#maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.#idleMs = options.sessionIdleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'agent-mcp' });
    this.#maxSubscriptions = options.maxSubscriptionsPerSession ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION;
    this.#relayed = new RelayedCalls({
      serverRequests: options.allowServerRequests ?? true,
      ...(options.inputWaitMs !== undefined ? { inputWaitMs: options.inputWaitMs } : {}),
    });
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
    this.#offResourceUpdated = this.#catalog.onResourceUpdated((uri) => this.#resourceUpdated(uri));
    this.#sweep = setInterval(
      () => this.#sweepIdle(),
      Math.max(10, Math.min(this.#idleMs / 2, 60_000)),
    ).unref();
  }

  /**
   * Web-standard face: serves one HTTP request to the MCP path (both eras). The caller (TLS termination)
   * supplies the authenticated identity as `authInfo`.
   */
  async fetch(
    request: Request,
    options: { authInfo?: AuthInfo; parsedBody?: unknown } = {},
  ): Promise<Response> {
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
    // The node handler checked and parsed the raw bytes already (`parsedBody`); a web-standard caller
    // that did not is checked here. Either way the body is read once and handed on parsed.
    let parsedBody = options.parsedBody;
    if (request.method === 'POST' && parsedBody === undefined) {
      const bytes = new Uint8Array(await request.clone().arrayBuffer());
      const refusal = bytes.length <= this.#maxBody ? this.#bodyRefusal(bytes) : undefined;
      if (refusal) return refusalResponse(refusal);
      try {
        parsedBody =
          bytes.length <= this.#maxBody ? JSON.parse(Buffer.from(bytes).toString('utf8')) : undefined;
      } catch {
        parsedBody = undefined; // not JSON: the SDK answers with its parse error
      }
    }
    const forward = { authInfo: options.authInfo, ...(parsedBody !== undefined ? { parsedBody } : {}) };
    let legacy: boolean;
    try {
      legacy = await isLegacyRequest(request, parsedBody, { maxRequestBodySize: this.#maxBody });
    } catch {
      legacy = false; // the modern leg owns every error answer
    }
    if (!legacy) {
      if (request.method === 'POST' && request.headers.get('mcp-method') === 'subscriptions/listen')
        return this.#listen(request, options.authInfo);
      return this.#modern.fetch(request, forward);
    }
    return this.#legacy(request, identity.name, forward);
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

  /** Calls waiting for an agent's answers to a 2025-11-25 upstream's server→client requests (relayed-call.ts). */
  callsAwaitingInput(): number {
    return this.#relayed.parked;
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
    this.#offResourceUpdated();
    this.#relayed.close();
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
    if (req.method === 'POST') {
      // Check the raw bytes here: the web Request built later would already carry a lossy decode.
      const raw = await readBoundedBody(req, this.#maxBody);
      if (raw === undefined) {
        writeRefusal(res, {
          status: 413,
          code: JSONRPC_INVALID_REQUEST,
          airlock: 'AIRLOCK_BODY_TOO_LARGE',
          message: `Request body larger than ${this.#maxBody} bytes`,
        });
        return;
      }
      const refusal = this.#bodyRefusal(raw);
      if (refusal) {
        writeRefusal(res, refusal);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
      } catch {
        writeRefusal(res, {
          status: 400,
          code: JSONRPC_PARSE_ERROR,
          airlock: 'AIRLOCK_BODY_INVALID',
          message: 'Parse error: the request body is not valid JSON',
        });
        return;
      }
      await this.#node(req, res, parsed);
      return;
    }
    await this.#node(req, res);
  }

  /** A refusal for a body with invalid UTF-8 (-32700) or nesting beyond `maxJsonDepth` (-32600). */
  #bodyRefusal(bytes: Uint8Array): Parameters<typeof refusalResponse>[0] | undefined {
    const problem = checkJsonBody(bytes, { maxDepth: this.#maxJsonDepth });
    if (!problem) return undefined;
    return {
      status: 400,
      code: problem.kind === 'encoding' ? JSONRPC_PARSE_ERROR : JSONRPC_INVALID_REQUEST,
      airlock: problem.kind === 'encoding' ? 'AIRLOCK_BODY_ENCODING' : 'AIRLOCK_BODY_TOO_DEEP',
      message: `${problem.kind === 'encoding' ? 'Parse error' : 'Invalid request'}: ${problem.message}`,
    };
  }

  async #legacy(
    request: Request,
    owner: string,
    handling: { authInfo: AuthInfo | undefined; parsedBody?: unknown },
  ): Promise<Response> {
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
      return session.transport.handleRequest(request, handling);
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
        registered = {
          id,
          owner,
          server,
          transport,
          createdAt: now,
          lastSeenAt: now,
          open: 0,
          subscriptions: new Set(),
        };
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
      const response = await transport.handleRequest(request, handling);
      if (!registered) await server.close().catch(() => {}); // not an initialize request: nothing to keep
      return response;
    } finally {
      this.#pendingSessions--;
    }
  }

  async #closeSession(session: LegacySession): Promise<void> {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    for (const uri of session.subscriptions) void this.#catalog.unsubscribeResource(uri).catch(() => {});
    session.subscriptions.clear();
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
        resources: { listChanged: true, subscribe: true },
        completions: {},
        logging: {},
      },
      instructions: this.#instructions,
    });
    const run = (method: string, params: unknown, ctx: ServerContext) =>
      this.#run(era, server, method, params, ctx);
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
    // Replaces the SDK's built-in handler: the level goes through the pipeline and to the upstreams.
    server.setRequestHandler(
      'logging/setLevel',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as EmptyResult,
    );
    server.setRequestHandler(
      'resources/subscribe',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as EmptyResult,
    );
    server.setRequestHandler(
      'resources/unsubscribe',
      async (r, ctx) => (await run(r.method, r.params, ctx)) as EmptyResult,
    );
    return server;
  }

  async #run(
    era: GatewayEra,
    server: Server,
    method: string,
    params: unknown,
    ctx: ServerContext,
  ): Promise<unknown> {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    const requestParams: Record<string, unknown> =
      params !== null && typeof params === 'object' ? { ...(params as Record<string, unknown>) } : {};
    // A multi-round-trip retry: the SDK lifted these out of the params; stages and upstreams see them.
    if (ctx.mcpReq.inputResponses !== undefined) requestParams.inputResponses = ctx.mcpReq.inputResponses;
    const requestState = ctx.mcpReq.requestState<unknown>();
    if (typeof requestState === 'string') requestParams.requestState = requestState;
    const gatewayCtx: GatewayContext = {
      identity: identityFromAuthInfo(ctx.http?.authInfo),
      era,
      sessionId: ctx.sessionId,
      method,
      params: requestParams,
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
    const agent: AgentRequest = {
      server,
      serverCtx: ctx,
      session:
        era === 'legacy' && ctx.sessionId !== undefined ? this.#sessions.get(ctx.sessionId) : undefined,
    };
    try {
      return await this.#agentRequest.run(agent, () => this.#pipeline(gatewayCtx));
    } catch (err) {
      throw this.#toProtocolError(err, method);
    }
  }

  /**
   * Runs a 2026-07-28 `subscriptions/listen` through the pipeline as the request it is (audited,
   * budgeted, each resource URI authorized) before the SDK serves the stream. A refusal comes back as
   * an HTTP answer with the JSON-RPC error.
   */
  async #admitListen(
    request: Request,
    authInfo: AuthInfo | undefined,
    uris: string[],
  ): Promise<Response | undefined> {
    const ctx: GatewayContext = {
      identity: identityFromAuthInfo(authInfo),
      era: 'modern',
      sessionId: undefined,
      method: 'subscriptions/listen',
      params: { resourceSubscriptions: uris },
      requestId: 'listen',
      signal: request.signal,
      progressToken: undefined,
      sendProgress: async () => {},
      decisions: [],
      startedAt: Date.now(),
    };
    try {
      await this.#pipeline(ctx);
      return undefined;
    } catch (err) {
      const wire = toWireError(err);
      return refusalResponse({
        status: wire.rpcCode === JSONRPC_INTERNAL_ERROR ? 500 : 403,
        code: wire.rpcCode,
        airlock: wire.airlockCode,
        message: wire.message,
      });
    }
  }

  /** Adds the per-upstream headers (minted end-user tokens) to an upstream request, when configured. */
  #withHeaders(ctx: GatewayContext, opts: UpstreamRequestOptions): UpstreamRequestOptions {
    const mint = this.#upstreamHeaders;
    return mint ? { ...opts, headersFor: (upstream) => mint(ctx, upstream) } : opts;
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
        return this.#relay(ctx, ctx.params.name, (opts) =>
          catalog.callTool(ctx.params, this.#withHeaders(ctx, opts)),
        );
      case 'prompts/get':
        return this.#relay(ctx, ctx.params.name, (opts) =>
          catalog.getPrompt(ctx.params, this.#withHeaders(ctx, opts)),
        );
      case 'resources/read':
        return this.#relay(ctx, ctx.params.uri, (opts) =>
          catalog.readResource(ctx.params, this.#withHeaders(ctx, opts)),
        );
      case 'completion/complete':
        return this.#withProgress(ctx, (opts) => catalog.complete(ctx.params, this.#withHeaders(ctx, opts)));
      case 'subscriptions/listen':
        return {}; // admitted: the SDK serves the stream (see #admitListen)
      case 'logging/setLevel':
        return this.#setLogLevel(ctx);
      case 'resources/subscribe':
        return this.#subscribe(ctx);
      case 'resources/unsubscribe':
        return this.#unsubscribe(ctx);
      default:
        throw new WireError(
          JSONRPC_METHOD_NOT_FOUND,
          'AIRLOCK_METHOD_NOT_FOUND',
          `Method not found: ${ctx.method}`,
        );
    }
  }

  /**
   * Forwards a call that the upstream may interrupt to ask the agent for input (see relayed-call.ts).
   * Progress and log messages reach the agent in order and are flushed before the answer.
   */
  async #relay(ctx: GatewayContext, target: unknown, start: StartRelayedCall): Promise<unknown> {
    const agent = this.#agentRequest.getStore();
    const { threshold, whenUnset, upstreamLevel } = this.#logLevels(agent);
    let relayed: Promise<void> = Promise.resolve();
    const enqueue = (send: () => Promise<void>) => {
      relayed = relayed.then(send).catch(() => {});
    };
    const turn: AgentTurn = {
      owner: ctx.identity?.name ?? '',
      signal: ctx.signal,
      ...(agent?.session ? { heldSignal: agent.serverCtx.mcpReq.signal } : {}),
      capabilities: agent ? relayableCapabilities(agent.server.getClientCapabilities()) : undefined,
      logLevel: upstreamLevel,
      onprogress: (p) => {
        const update: ProgressUpdate = { progress: p.progress };
        if (p.total !== undefined) update.total = p.total;
        if (p.message !== undefined) update.message = p.message;
        enqueue(() => ctx.sendProgress(update));
      },
      onLog: (params: LoggingMessageNotificationParams) => {
        if (!agent || ctx.signal.aborted || !passesLogThreshold(params.level, threshold, whenUnset)) return;
        enqueue(() => agent.serverCtx.mcpReq.notify({ method: 'notifications/message', params }));
      },
    };
    const binding = { method: ctx.method, target: String(target ?? '') };
    try {
      const state = ctx.params.requestState;
      if (isRelayState(state)) {
        const responses = ctx.params.inputResponses;
        return await this.#relayed.resume(
          state,
          binding,
          turn,
          responses !== null && typeof responses === 'object'
            ? (responses as Record<string, unknown>)
            : undefined,
        );
      }
      return await this.#relayed.run(binding, turn, start);
    } finally {
      await relayed;
    }
  }

  /**
   * The agent's log threshold and the level asked of 2026-07-28 upstreams for it: a 2025-11-25 session's
   * `logging/setLevel` (unset: every message, so `debug` upstream), a 2026-07-28 request's envelope
   * level (unset: no messages).
   */
  #logLevels(agent: AgentRequest | undefined): {
    threshold: LoggingLevel | undefined;
    whenUnset: boolean;
    upstreamLevel: LoggingLevel | undefined;
  } {
    if (agent?.session) {
      const level = agent.session.logLevel;
      return { threshold: level, whenUnset: true, upstreamLevel: level ?? 'debug' };
    }
    const envelope = agent?.serverCtx.mcpReq.envelope as Record<string, unknown> | undefined;
    const envelopeLevel = envelope?.[LOG_LEVEL_META_KEY];
    const level = isLoggingLevel(envelopeLevel) ? envelopeLevel : undefined;
    return { threshold: level, whenUnset: false, upstreamLevel: level };
  }

  /** `logging/setLevel`: remembered for the session; the most verbose level of all sessions goes upstream. */
  async #setLogLevel(ctx: GatewayContext): Promise<EmptyResult> {
    const level = ctx.params.level;
    if (!isLoggingLevel(level)) {
      throw new WireError(
        JSONRPC_INVALID_PARAMS,
        'AIRLOCK_LOG_LEVEL_INVALID',
        `Invalid log level '${String(level)}'`,
      );
    }
    const session = this.#agentRequest.getStore()?.session;
    if (session) session.logLevel = level;
    const levels = [...this.#sessions.values()].flatMap((s) => (s.logLevel ? [s.logLevel] : []));
    await this.#catalog.setLoggingLevel(mostVerboseLevel(levels) ?? level);
    return {};
  }

  /** `resources/subscribe` (2025-11-25 sessions): held at the owning upstream, remembered per session. */
  async #subscribe(ctx: GatewayContext): Promise<EmptyResult> {
    const session = this.#sessionFor(ctx);
    const uri = String(ctx.params.uri ?? '');
    if (session.subscriptions.has(uri)) return {};
    if (session.subscriptions.size >= this.#maxSubscriptions) {
      throw new WireError(
        JSONRPC_INVALID_PARAMS,
        'AIRLOCK_LIMIT_SUBSCRIPTIONS',
        `Too many resource subscriptions: this session already holds ${session.subscriptions.size} (maxSubscriptionsPerSession = ${this.#maxSubscriptions}); unsubscribe first`,
      );
    }
    await this.#catalog.subscribeResource(uri);
    if (this.#sessions.get(session.id) !== session || session.subscriptions.has(uri)) {
      await this.#catalog.unsubscribeResource(uri); // the session closed (or subscribed twice) meanwhile
      return {};
    }
    session.subscriptions.add(uri);
    return {};
  }

  /** `resources/unsubscribe`: forgets the session's subscription (the last subscriber releases the upstream's). */
  async #unsubscribe(ctx: GatewayContext): Promise<EmptyResult> {
    const session = this.#sessionFor(ctx);
    const uri = String(ctx.params.uri ?? '');
    if (session.subscriptions.delete(uri)) await this.#catalog.unsubscribeResource(uri);
    return {};
  }

  #sessionFor(ctx: GatewayContext): LegacySession {
    const session = this.#agentRequest.getStore()?.session;
    if (!session) {
      throw new WireError(
        JSONRPC_METHOD_NOT_FOUND,
        'AIRLOCK_METHOD_NOT_FOUND',
        `${ctx.method} needs a 2025-11-25 session; 2026-07-28 agents subscribe with subscriptions/listen`,
      );
    }
    return session;
  }

  /** An upstream reported a subscribed resource updated: tell the sessions and listen streams that asked. */
  #resourceUpdated(uri: string): void {
    if (this.#closed) return;
    for (const session of this.#sessions.values()) {
      if (!session.subscriptions.has(uri)) continue;
      session.server
        .sendResourceUpdated({ uri })
        .catch((err: unknown) => this.#log.debug({ err: String(err) }, 'resources/updated not delivered'));
    }
    this.#modern.notify.resourceUpdated(uri);
  }

  /**
   * A 2026-07-28 `subscriptions/listen`: served by the SDK; the resources in its filter
   * (`resourceSubscriptions`) are subscribed at their upstreams for as long as the stream is open.
   */
  async #listen(request: Request, authInfo: AuthInfo | undefined): Promise<Response> {
    const uris = await listenedResourceUris(request);
    if (uris.length > this.#maxSubscriptions) {
      return refusalResponse({
        status: 400,
        code: JSONRPC_INVALID_PARAMS,
        airlock: 'AIRLOCK_LIMIT_SUBSCRIPTIONS',
        message: `At most ${this.#maxSubscriptions} resource subscriptions per stream (asked: ${uris.length})`,
      });
    }
    // The SDK serves the stream itself; the gateway pipeline (audit, budget, authorize) decides first
    // whether this identity may subscribe to these resources at all.
    const refused = await this.#admitListen(request, authInfo, uris);
    if (refused) return refused;
    const held: string[] = [];
    for (const uri of uris) {
      try {
        await this.#catalog.subscribeResource(uri);
        held.push(uri);
      } catch (err) {
        this.#log.debug(
          { uri, err: err instanceof Error ? err.message : String(err) },
          'listen: not subscribed',
        );
      }
    }
    const release = () => {
      for (const uri of held.splice(0)) void this.#catalog.unsubscribeResource(uri).catch(() => {});
    };
    let response: Response;
    try {
      response = await this.#modern.fetch(request, { authInfo });
    } catch (err) {
      release();
      throw err;
    }
    if (held.length === 0) return response;
    if (!response.body) {
      release();
      return response;
    }
    return new Response(releasingWhenDone(response.body, release), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
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

/** The resource URIs a `subscriptions/listen` request's filter names (at most `max`; none if unreadable). */
async function listenedResourceUris(request: Request): Promise<string[]> {
  try {
    const body = (await request.clone().json()) as {
      params?: { notifications?: { resourceSubscriptions?: unknown } };
    };
    const uris = body?.params?.notifications?.resourceSubscriptions;
    if (!Array.isArray(uris)) return [];
    return [...new Set(uris.filter((u): u is string => typeof u === 'string'))];
  } catch {
    return []; // an unreadable body: the SDK answers it with its own parse error
  }
}

/** A stream that passes `body` through and calls `release` once when it ends, fails or is cancelled. */
function releasingWhenDone(
  body: ReadableStream<Uint8Array>,
  release: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let released = false;
  const done = () => {
    if (released) return;
    released = true;
    release();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (next.done) {
          done();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (err) {
        done();
        controller.error(err);
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}
