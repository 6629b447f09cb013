/**
 * Per-agent state that outlives one request: the 2025-11-25 session's log level (`logging/setLevel`; the
 * most verbose level of all sessions is set on 2025-11-25 upstreams) and resource subscriptions
 * (`resources/subscribe` / `unsubscribe`, held at the upstream owning the URI and remembered per
 * session), and the delivery of upstream `notifications/resources/updated` to the sessions and listen
 * streams that asked. URIs here are the real ones (the pii stage de-tokenized the agent's); what goes out
 * passes the redaction boundary on the way.
 *
 * @example
 * const subs = new AgentSubscriptions({ catalog, sessions, maxSubscriptions: 100, notifyModern, log });
 * await subs.subscribe(ctx, session);
 */
import type { EmptyResult, LoggingMessageNotificationParams } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { JSONRPC_INVALID_PARAMS, JSONRPC_METHOD_NOT_FOUND, WireError } from '../errors/wire-error.js';
import type { GatewayContext } from '../gateway/gateway-context.js';
import type { LegacySession, LegacySessions } from './agent-legacy-sessions.js';
import { isLoggingLevel, mostVerboseLevel, passesLogThreshold } from './log-levels.js';
import type { UpstreamCatalog } from './upstream-catalog.js';

export interface AgentSubscriptionsOptions {
  catalog: Pick<UpstreamCatalog, 'subscribeResource' | 'unsubscribeResource' | 'setLoggingLevel'>;
  sessions: LegacySessions;
  maxSubscriptions: number;
  /** Publishes a resource update to 2026-07-28 listen streams. */
  notifyModern: (uri: string) => void;
  log: Logger;
}

export class AgentSubscriptions {
  readonly #o: AgentSubscriptionsOptions;

  constructor(options: AgentSubscriptionsOptions) {
    this.#o = options;
  }

  /** `logging/setLevel`: remembered for the session; the most verbose level of all sessions goes upstream. */
  async setLogLevel(ctx: GatewayContext, session: LegacySession | undefined): Promise<EmptyResult> {
    const level = ctx.params.level;
    if (!isLoggingLevel(level)) {
      throw new WireError(
        JSONRPC_INVALID_PARAMS,
        'AIRLOCK_LOG_LEVEL_INVALID',
        `Invalid log level '${String(level)}'`,
      );
    }
    if (session) session.logLevel = level;
    const levels = [...this.#o.sessions.values()].flatMap((s) => (s.logLevel ? [s.logLevel] : []));
    await this.#o.catalog.setLoggingLevel(mostVerboseLevel(levels) ?? level);
    return {};
  }

  /** `resources/subscribe` (2025-11-25 sessions): held at the owning upstream, remembered per session. */
  async subscribe(ctx: GatewayContext, current: LegacySession | undefined): Promise<EmptyResult> {
    const session = sessionFor(ctx, current);
    const uri = String(ctx.params.uri ?? '');
    if (session.subscriptions.has(uri)) return {};
    if (session.subscriptions.size >= this.#o.maxSubscriptions) {
      throw new WireError(
        JSONRPC_INVALID_PARAMS,
        'AIRLOCK_LIMIT_SUBSCRIPTIONS',
        `Too many resource subscriptions: this session already holds ${session.subscriptions.size} (maxSubscriptionsPerSession = ${this.#o.maxSubscriptions}); unsubscribe first`,
      );
    }
    await this.#o.catalog.subscribeResource(uri);
    if (this.#o.sessions.get(session.id) !== session || session.subscriptions.has(uri)) {
      await this.#o.catalog.unsubscribeResource(uri); // the session closed (or subscribed twice) meanwhile
      return {};
    }
    session.subscriptions.add(uri);
    return {};
  }

  /** `resources/unsubscribe`: forgets the session's subscription (the last subscriber releases the upstream's). */
  async unsubscribe(ctx: GatewayContext, current: LegacySession | undefined): Promise<EmptyResult> {
    const session = sessionFor(ctx, current);
    const uri = String(ctx.params.uri ?? '');
    if (session.subscriptions.delete(uri)) await this.#o.catalog.unsubscribeResource(uri);
    return {};
  }

  /** A session closed: release its subscriptions at the upstreams. */
  release(session: LegacySession): void {
    for (const uri of session.subscriptions) void this.#o.catalog.unsubscribeResource(uri).catch(() => {});
  }

  /**
   * A log message an upstream sent outside any agent request: to each 2025-11-25 session that asked for
   * logs (`logging/setLevel`) at or below its level and was let through to that upstream before (the
   * pipeline authorized it there). Through the session's server, so through the redaction boundary.
   */
  unsolicitedLog(upstream: string, params: LoggingMessageNotificationParams): void {
    for (const session of this.#o.sessions.values()) {
      const level = session.logLevel;
      if (level === undefined || !session.upstreams.has(upstream)) continue;
      if (!passesLogThreshold(params.level, level, false)) continue;
      session.server
        .notification({ method: 'notifications/message', params })
        .catch((err: unknown) => this.#o.log.debug({ err: errName(err) }, 'log message not delivered'));
    }
  }

  /** An upstream reported a subscribed resource updated: tell the sessions and listen streams that asked. */
  resourceUpdated(uri: string): void {
    for (const session of this.#o.sessions.values()) {
      if (!session.subscriptions.has(uri)) continue;
      session.server
        .sendResourceUpdated({ uri })
        .catch((err: unknown) => this.#o.log.debug({ err: errName(err) }, 'resources/updated not delivered'));
    }
    this.#o.notifyModern(uri);
  }
}

function sessionFor(ctx: GatewayContext, session: LegacySession | undefined): LegacySession {
  if (!session) {
    throw new WireError(
      JSONRPC_METHOD_NOT_FOUND,
      'AIRLOCK_METHOD_NOT_FOUND',
      `${ctx.method} needs a 2025-11-25 session; 2026-07-28 agents subscribe with subscriptions/listen`,
    );
  }
  return session;
}

function errName(err: unknown): string {
  return err instanceof Error ? err.name : 'error';
}
