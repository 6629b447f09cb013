/**
 * The agent-facing MCP endpoint of the connector: MCP Streamable HTTP at `/mcp` for both protocol eras.
 *
 * - A plain 2026-07-28 `tools/call` takes the direct path (direct-calls.ts): the pipeline runs on the
 *   parsed body and the answer is written as the SDK would write it, without a per-request SDK server.
 *   Option `directCalls: false` sends every request the SDK's way.
 * - 2026-07-28 `tasks/get|update|cancel` (the tasks extension, which the SDK has no runtime for) are served
 *   at the Node entry too (task-extension-entry.ts), through the same pipeline and boundary.
 * - Other 2026-07-28 requests: `createMcpHandler(factory, { legacy: 'reject' })`; list changes reach agents
 *   through `subscriptions/listen` (`handler.notify`).
 * - 2025-11-25 (sessionful): requests classified by `isLegacyRequest` go to one
 *   `WebStandardStreamableHTTPServerTransport` per `Mcp-Session-Id` (agent-legacy-sessions.ts).
 *
 * Each SDK request is handled by a low-level `Server` whose handlers (agent-method-table.ts) build a
 * `GatewayContext` and run the gateway pipeline (`stages`) with the routes (agent-routes.ts) as terminal.
 *
 * Redaction boundary: with `outbound` (a `PiiBoundary`), every message towards an agent — on every
 * server's transport, on the direct path and on listen streams — passes it (agent-outbound-guard.ts), and
 * each agent request runs with its own taint (values the pii stage de-tokenized for it).
 *
 * Concerns live in their own files: listen streams (agent-listen-stream.ts), subscriptions and log levels
 * (agent-subscriptions.ts), progress, logs and server→client requests during a call
 * (agent-request-relay.ts, relayed-call.ts), capabilities and `instructions` as the upstreams have them
 * (upstream-catalog-face.ts), paginated lists (catalog-pages.ts), SSE resumability on sessions
 * (agent-event-store.ts), held calls kept alive (agent-keep-alive.ts), SEP-1303 tool errors
 * (protocol-error-mapping.ts).
 *
 * The identity comes from the transport as SDK `AuthInfo` (see agent-auth-info.ts); requests without one
 * are refused with 401. A legacy session is bound to the identity that created it: any other identity
 * presenting that `Mcp-Session-Id` gets 404.
 *
 * @example
 * const endpoint = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: store.identities }) });
 * const agents = new AgentEndpoint({ tls, identities: store.identities, handler: endpoint.nodeHandler });
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type NodeMcpRequestHandler, toNodeHandler } from '@modelcontextprotocol/node';
import {
  type AuthInfo,
  createMcpHandler,
  isLegacyRequest,
  type McpHttpHandler,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { type Logger, pino } from 'pino';
import { JSONRPC_METHOD_NOT_FOUND, WireError } from '../errors/wire-error.js';
import { compose } from '../gateway/compose.js';
import type { GatewayContext, GatewayEra, Handler } from '../gateway/gateway-context.js';
import { JSONRPC_UNAUTHENTICATED } from '../gateway/stages/authenticate-stage.js';
import { RequestTaint, withRequestTaint } from '../pii/request-taint.js';
import { identityFromAuthInfo } from './agent-auth-info.js';
import {
  type AgentMcpEndpointOptions,
  DEFAULT_DIRECT_CALLS,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION,
  DEFAULT_MCP_PATH,
  DEFAULT_SESSION_IDLE_TIMEOUT_MS,
} from './agent-endpoint-options.js';
import { gatewayContextFor } from './agent-gateway-context.js';
import { bodyRefusal, handleNodeRequest } from './agent-http-body.js';
import { streamResponseNow } from './agent-keep-alive.js';
import { type AgentSessionInfo, LegacySessions } from './agent-legacy-sessions.js';
import { admitListen } from './agent-listen-admission.js';
import { serveListen } from './agent-listen-stream.js';
import {
  type AgentMethod,
  type AgentRequest,
  agentRequestStorage,
  registerAgentMethods,
} from './agent-method-table.js';
import { GuardedServer, OutboundGuard } from './agent-outbound-guard.js';
import { type AgentRoutes, agentRoutes } from './agent-routes.js';
import { AgentSubscriptions } from './agent-subscriptions.js';
import { DirectCalls } from './direct-calls.js';
import { DirectExchanges } from './direct-exchange.js';
import { surelyModern } from './era-precheck.js';
import { DEFAULT_MAX_JSON_DEPTH } from './json-body-check.js';
import { refusalResponse } from './json-rpc-http-error.js';
import { failureAnswer } from './protocol-error-mapping.js';
import { RelayedCalls } from './relayed-call.js';
import { withTasksExtension } from './task-extension.js';
import { TaskExtensionEntry } from './task-extension-entry.js';
import { DEFAULT_AGENT_CAPABILITIES } from './upstream-catalog-face.js';

export {
  type AgentCatalog,
  type AgentMcpEndpointOptions,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION,
  DEFAULT_MCP_PATH,
  DEFAULT_SESSION_IDLE_TIMEOUT_MS,
} from './agent-endpoint-options.js';
export type { AgentSessionInfo } from './agent-legacy-sessions.js';

/** How the gateway introduces itself to agents unless `serverInfo` says otherwise. */
const DEFAULT_SERVER_INFO = { name: 'airlock', version: '0.1.0' };

export class AgentMcpEndpoint {
  /** Node `(req, res)` handler: serves the MCP path, 404 elsewhere. Identity from `req.auth` (AuthInfo). */
  readonly nodeHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;

  readonly #o: AgentMcpEndpointOptions;
  readonly #pipeline: Handler;
  readonly #path: string;
  readonly #maxBody: number;
  readonly #maxSubscriptions: number;
  readonly #log: Logger;
  readonly #modern: McpHttpHandler;
  readonly #node: NodeMcpRequestHandler;
  readonly #sessions: LegacySessions;
  readonly #subscriptions: AgentSubscriptions;
  readonly #relayed: RelayedCalls;
  readonly #routes: AgentRoutes;
  readonly #off: (() => void)[];
  #closed = false;
  /** Requests served at the Node entry (direct calls, tasks-extension requests); aborted on close. */
  readonly #exchanges: DirectExchanges;

  constructor(options: AgentMcpEndpointOptions) {
    this.#o = options;
    this.#path = options.path ?? DEFAULT_MCP_PATH;
    this.#maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    this.#maxSubscriptions = options.maxSubscriptionsPerSession ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'agent-mcp' });
    this.#relayed = new RelayedCalls({
      serverRequests: options.allowServerRequests ?? true,
      ...(options.inputWaitMs !== undefined ? { inputWaitMs: options.inputWaitMs } : {}),
    });
    this.#pipeline = compose(options.stages, (ctx) => this.#route(ctx));
    const onerror = (err: Error) => this.#log.debug({ err: err.name }, 'mcp endpoint error');
    const modern = (c: { authInfo?: AuthInfo }) =>
      this.#buildServer('modern', identityFromAuthInfo(c.authInfo)?.name);
    this.#modern = createMcpHandler(modern, { legacy: 'reject', maxRequestBodySize: this.#maxBody, onerror });
    this.#node = toNodeHandler(
      { fetch: (request, opts) => this.fetch(request, opts) },
      { maxRequestBodySize: this.#maxBody, onerror },
    );
    this.#sessions = new LegacySessions({
      maxSessions: options.maxSessions ?? DEFAULT_MAX_SESSIONS,
      idleMs: options.sessionIdleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS,
      maxBody: this.#maxBody,
      log: this.#log,
      buildServer: (owner, sessionId) => this.#buildServer('legacy', owner, sessionId),
      onClosed: (session) => this.#subscriptions.release(session),
      resumability: options.resumability ?? {},
    });
    this.#subscriptions = new AgentSubscriptions({
      catalog: options.catalog,
      sessions: this.#sessions,
      maxSubscriptions: this.#maxSubscriptions,
      notifyModern: (uri) => this.#modern.notify.resourceUpdated(uri),
      log: this.#log,
    });
    this.#routes = agentRoutes({
      catalog: options.catalog,
      relayed: this.#relayed,
      subscriptions: this.#subscriptions,
      upstreamHeaders: options.upstreamHeaders,
      listPageSize: options.listPageSize,
    });
    this.#exchanges = new DirectExchanges({
      pipeline: this.#pipeline,
      outbound: options.outbound,
      log: this.#log,
    });
    const direct = (options.directCalls ?? DEFAULT_DIRECT_CALLS) ? this.#directCalls() : undefined;
    // The 2026-07-28 tasks extension's methods: the SDK has no runtime for them (task-extension-entry.ts).
    const tasks = new TaskExtensionEntry({
      exchanges: this.#exchanges,
      serverInfo: options.serverInfo ?? DEFAULT_SERVER_INFO,
      capabilities: () => options.catalog.face?.capabilities() ?? DEFAULT_AGENT_CAPABILITIES,
    });
    this.nodeHandler = (req, res) =>
      handleNodeRequest(req, res, {
        path: this.#path,
        maxBody: this.#maxBody,
        maxJsonDepth: options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
        track: (r, w) => this.#sessions.track(r, w),
        serve: (r, w, parsed) =>
          parsed === undefined
            ? this.#node(r, w)
            : ((this.#closed ? undefined : (direct?.serve(r, w, parsed) ?? tasks.serve(r, w, parsed))) ??
              this.#node(r, w, parsed)),
      });
    this.#off = [
      options.catalog.onChanged((kind) => this.#notifyListChanged(kind)),
      options.catalog.onUpstreamLog?.((upstream, params) => {
        if (!this.#closed) this.#subscriptions.unsolicitedLog(upstream, params);
      }) ?? (() => {}),
      options.catalog.onResourceUpdated((uri) => {
        if (!this.#closed) this.#subscriptions.resourceUpdated(uri);
      }),
    ];
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
      const refusal =
        bytes.length <= this.#maxBody
          ? bodyRefusal(bytes, this.#o.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH)
          : undefined;
      if (refusal) return refusalResponse(refusal);
      try {
        parsedBody =
          bytes.length <= this.#maxBody ? JSON.parse(Buffer.from(bytes).toString('utf8')) : undefined;
      } catch {
        parsedBody = undefined; // not JSON: the SDK answers with its parse error
      }
    }
    const forward = { authInfo: options.authInfo, ...(parsedBody !== undefined ? { parsedBody } : {}) };
    let legacy = false;
    try {
      // An enveloped modern request needs no second classification before the modern leg's own.
      if (request.method !== 'POST' || !surelyModern(parsedBody))
        legacy = await isLegacyRequest(request, parsedBody, { maxRequestBodySize: this.#maxBody });
    } catch {
      legacy = false; // the modern leg owns every error answer
    }
    if (legacy) return this.#sessions.handle(request, identity.name, forward);
    if (request.method === 'POST' && request.headers.get('mcp-method') === 'subscriptions/listen') {
      return serveListen(request, options.authInfo, {
        maxSubscriptions: this.#maxSubscriptions,
        admit: (r, authInfo, uris) => admitListen(this.#pipeline, r, authInfo, uris),
        catalog: this.#o.catalog,
        serve: (r) => this.#modern.fetch(r, { authInfo: options.authInfo }),
        filter: this.#listenFilter(identity.name),
        log: this.#log,
      });
    }
    return this.#modern.fetch(request, forward);
  }

  /** Live legacy sessions. */
  sessions(): AgentSessionInfo[] {
    return this.#sessions.info();
  }

  /** Calls waiting for an agent's answers to a 2025-11-25 upstream's server→client requests (relayed-call.ts). */
  callsAwaitingInput(): number {
    return this.#relayed.parked;
  }

  /** Closes every legacy session of an identity (e.g. after revocation). Returns how many were closed. */
  closeSessionsOf(identityName: string): Promise<number> {
    return this.#sessions.closeOf(identityName);
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
    this.#exchanges.close();
    for (const off of this.#off) off();
    this.#relayed.close();
    await this.#sessions.close();
    await this.#modern.close();
  }

  #notifyListChanged(kind: 'tools' | 'prompts' | 'resources'): void {
    for (const session of this.#sessions.values()) {
      const s = session.server;
      const sent =
        kind === 'tools'
          ? s.sendToolListChanged()
          : kind === 'prompts'
            ? s.sendPromptListChanged()
            : s.sendResourceListChanged();
      sent.catch((err: unknown) => this.#log.debug({ err: String(err) }, 'list_changed not delivered'));
    }
    if (kind === 'tools') this.#modern.notify.toolsChanged();
    else if (kind === 'prompts') this.#modern.notify.promptsChanged();
    else this.#modern.notify.resourcesChanged();
  }

  /** The direct path of plain 2026-07-28 calls (direct-calls.ts), with this endpoint's face. */
  #directCalls(): DirectCalls {
    const face = this.#o.catalog.face;
    return new DirectCalls({
      exchanges: this.#exchanges,
      serverInfo: this.#o.serverInfo ?? DEFAULT_SERVER_INFO,
      capabilities: () => face?.capabilities() ?? DEFAULT_AGENT_CAPABILITIES,
      log: this.#log,
    });
  }

  /** An agent-facing server; its transports pass the boundary when one is configured. */
  #buildServer(
    era: GatewayEra,
    identity: string | undefined,
    sessionId?: () => string | undefined,
  ): GuardedServer {
    const outbound = this.#o.outbound;
    const guard = outbound
      ? new OutboundGuard(outbound, () => ({ sessionId: sessionId?.(), identity }), this.#log)
      : undefined;
    // Capabilities as the upstreams have them, their instructions merged after the gateway's own.
    const face = this.#o.catalog.face;
    const offered = face?.capabilities() ?? DEFAULT_AGENT_CAPABILITIES;
    // The 2026-07-28 tasks extension, to 2026-07-28 agents only, when an upstream offers it (task-routes.ts).
    const capabilities =
      era === 'modern' && face?.offersTasksExtension() ? withTasksExtension(offered) : offered;
    const instructions = face ? face.instructions(this.#o.instructions) : this.#o.instructions;
    const server = new GuardedServer(
      this.#o.serverInfo ?? DEFAULT_SERVER_INFO,
      { capabilities, ...(instructions !== undefined ? { instructions } : {}) },
      guard,
    );
    registerAgentMethods(server, (method, params, ctx) => this.#run(era, server, method, params, ctx));
    return server;
  }

  /** The boundary for one listen stream's events (the identity is the token scope of stateless agents). */
  #listenFilter(identity: string) {
    const outbound = this.#o.outbound;
    if (!outbound) return undefined;
    const guard = new OutboundGuard(outbound, () => ({ identity }), this.#log);
    return (message: Record<string, unknown>) => guard.filterEvent(message);
  }

  async #run(
    era: GatewayEra,
    server: GuardedServer,
    method: string,
    params: unknown,
    ctx: ServerContext,
  ): Promise<unknown> {
    const gatewayCtx = gatewayContextFor(era, method, params, ctx, () => streamResponseNow(server.transport));
    const agent: AgentRequest = {
      server,
      serverCtx: ctx,
      session: era === 'legacy' ? this.#sessions.get(ctx.sessionId) : undefined,
    };
    const taint = server.guard?.begin(ctx.mcpReq.id, method, gatewayCtx.params) ?? new RequestTaint();
    try {
      return await withRequestTaint(taint, () =>
        agentRequestStorage.run(agent, () => this.#pipeline(gatewayCtx)),
      );
    } catch (err) {
      return failureAnswer(err, method, server.getNegotiatedProtocolVersion(), this.#log);
    } finally {
      if (ctx.mcpReq.signal.aborted) server.guard?.forget(ctx.mcpReq.id); // no response will be sent
    }
  }

  /** The pipeline's terminal: route to the catalog through the method table. */
  async #route(ctx: GatewayContext): Promise<unknown> {
    const route = Object.hasOwn(this.#routes, ctx.method)
      ? this.#routes[ctx.method as AgentMethod]
      : undefined;
    if (!route) {
      throw new WireError(
        JSONRPC_METHOD_NOT_FOUND,
        'AIRLOCK_METHOD_NOT_FOUND',
        `Method not found: ${ctx.method}`,
      );
    }
    return route(ctx, agentRequestStorage.getStore());
  }
}
