/**
 * The gateway pipeline's terminal on the agent endpoint: what each method of the method table
 * (agent-method-table.ts) does once every stage let it through — lists from the catalog, calls relayed to
 * the owning upstream (agent-request-relay.ts), subscriptions and log levels (agent-subscriptions.ts).
 *
 * @example
 * const routes = agentRoutes({ catalog, relayed, subscriptions, upstreamHeaders });
 * await routes['tools/list'](ctx, agentRequestStorage.getStore());
 */
import type { GatewayContext } from '../gateway/gateway-context.js';
import type { AgentCatalog, AgentMcpEndpointOptions } from './agent-endpoint-options.js';
import type { AgentMethod, AgentRequest } from './agent-method-table.js';
import { relayCall, withProgress } from './agent-request-relay.js';
import type { AgentSubscriptions } from './agent-subscriptions.js';
import { DEFAULT_LIST_PAGE_SIZE, listPage } from './catalog-pages.js';
import type { RelayedCalls } from './relayed-call.js';
import { taskRoutes } from './task-routes.js';
import type { UpstreamRequestOptions } from './upstream.js';

export type AgentRoute = (ctx: GatewayContext, agent: AgentRequest | undefined) => Promise<unknown>;
/** `tasks/update` is the 2026-07-28 tasks extension's (served at the Node entry, task-extension-entry.ts). */
export type AgentRoutes = Record<AgentMethod | 'subscriptions/listen' | 'tasks/update', AgentRoute>;

export interface AgentRoutesDeps {
  catalog: AgentCatalog;
  relayed: RelayedCalls;
  subscriptions: AgentSubscriptions;
  upstreamHeaders: AgentMcpEndpointOptions['upstreamHeaders'];
  /** Most entries per list page. Default {@link DEFAULT_LIST_PAGE_SIZE}. */
  listPageSize?: number | undefined;
}

export function agentRoutes(deps: AgentRoutesDeps): AgentRoutes {
  const { catalog, relayed, subscriptions: subs } = deps;
  const size = deps.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
  // The tasks utility: ownership-checked routes and task tracking of tools/call (task-routes.ts).
  const tasks = taskRoutes({ catalog, upstreamHeaders: deps.upstreamHeaders });
  const headers = (ctx: GatewayContext, opts: UpstreamRequestOptions): UpstreamRequestOptions => {
    const mint = deps.upstreamHeaders;
    return mint ? { ...opts, headersFor: (upstream) => mint(ctx, upstream) } : opts;
  };
  return {
    'tools/list': async (ctx) => listPage('tools', catalog.tools(), ctx.params.cursor, size),
    'prompts/list': async (ctx) => listPage('prompts', catalog.prompts(), ctx.params.cursor, size),
    'resources/list': async (ctx) => listPage('resources', catalog.resources(), ctx.params.cursor, size),
    'resources/templates/list': async (ctx) =>
      listPage('resourceTemplates', catalog.resourceTemplates(), ctx.params.cursor, size),
    'tools/call': (ctx, agent) => {
      used(agent, catalog.resolveTool?.(String(ctx.params.name))?.upstream);
      return tasks.trackCall(ctx, () =>
        relayCall(relayed, ctx, agent, ctx.params.name, (o) => catalog.callTool(ctx.params, headers(ctx, o))),
      );
    },
    ...tasks.routes,
    'prompts/get': (ctx, agent) => {
      used(agent, catalog.resolvePrompt?.(String(ctx.params.name))?.upstream);
      return relayCall(relayed, ctx, agent, ctx.params.name, (o) =>
        catalog.getPrompt(ctx.params, headers(ctx, o)),
      );
    },
    'resources/read': (ctx, agent) => {
      used(agent, catalog.resolveResource?.(String(ctx.params.uri)));
      return relayCall(relayed, ctx, agent, ctx.params.uri, (o) =>
        catalog.readResource(ctx.params, headers(ctx, o)),
      );
    },
    'completion/complete': (ctx) => withProgress(ctx, (o) => catalog.complete(ctx.params, headers(ctx, o))),
    'logging/setLevel': (ctx, agent) => subs.setLogLevel(ctx, agent?.session),
    'resources/subscribe': (ctx, agent) => subs.subscribe(ctx, agent?.session),
    'resources/unsubscribe': (ctx, agent) => subs.unsubscribe(ctx, agent?.session),
    // Admitted: the SDK serves the stream (agent-listen-stream.ts); the real URIs go back to it.
    'subscriptions/listen': async (ctx, agent) => {
      const uris = ctx.params.resourceSubscriptions;
      if (agent && Array.isArray(uris))
        agent.listenUris = uris.filter((u): u is string => typeof u === 'string');
      return {};
    },
  };
}

/** Remembers that a 2025-11-25 session was let through to `upstream` (it may then get its unsolicited logs). */
function used(agent: AgentRequest | undefined, upstream: { name: string } | undefined): void {
  if (agent?.session && upstream) agent.session.upstreams.add(upstream.name);
}
