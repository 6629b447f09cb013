/**
 * Options of the agent-facing MCP endpoint (agent-mcp-endpoint.ts) and their secure defaults.
 *
 * @example
 * new AgentMcpEndpoint({ catalog, stages, maxSessions: DEFAULT_MAX_SESSIONS, outbound: boundary });
 */
import type { Implementation } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { GatewayContext, Stage } from '../gateway/gateway-context.js';
import type { EventStoreLimits } from './agent-event-store.js';
import type { AgentOutbound } from './agent-outbound-guard.js';
import type { DEFAULT_MAX_JSON_DEPTH } from './json-body-check.js';
import type { DEFAULT_INPUT_WAIT_MS } from './relayed-call.js';
import type { UpstreamCatalog } from './upstream-catalog.js';

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
> &
  /**
   * Optional: capabilities and instructions from the upstreams (without: every capability advertised);
   * unsolicited upstream logs and the routes that tell which upstream a session used (without: none).
   */
  Partial<
    Pick<UpstreamCatalog, 'face' | 'onUpstreamLog' | 'resolveTool' | 'resolvePrompt' | 'resolveResource'>
  >;

/** Plain 2026-07-28 `tools/call` requests take the direct path unless switched off. */
export const DEFAULT_DIRECT_CALLS = true;

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
  /**
   * Serve plain 2026-07-28 `tools/call` requests on the direct path (direct-calls.ts) instead of through
   * a per-request SDK server. Same answers, less CPU. Default {@link DEFAULT_DIRECT_CALLS}.
   */
  directCalls?: boolean;
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
  /** Most entries per page of `tools/list` and the other lists (cursor over the aggregate). Default 500. */
  listPageSize?: number;
  /**
   * SSE resumability of 2025-11-25 sessions (event ids, `retry:`, replay after `Last-Event-ID`), bounded
   * per session (agent-event-store.ts: 100 events per stream, 1 MiB, 5 min; `retry:` 1 s by default).
   * `false` turns it off. 2026-07-28 requests are single exchanges: nothing to resume.
   *
   * @example
   * new AgentMcpEndpoint({ catalog, stages, resumability: { maxBytes: 256 * 1024, ttlMs: 60_000 } });
   */
  resumability?: (EventStoreLimits & { retryMs?: number }) | false;
  /**
   * The redaction boundary every message towards an agent passes (a `PiiBoundary`, the same the pii
   * stage uses). Absent: messages go out as the pipeline produced them (transport tests only).
   */
  outbound?: AgentOutbound;
  /**
   * Headers for requests to HTTP upstreams on behalf of this request: e.g. a short-lived token minted
   * for the end user (`UpstreamTokenMinter.mintUpstreamHeaders`). Never the agent's own credential.
   */
  upstreamHeaders?: (ctx: GatewayContext, upstream: string) => Promise<Record<string, string>>;
  /** Default silent. */
  logger?: Logger;
}
