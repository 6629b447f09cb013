/**
 * The 2025-11-25 (legacy, sessionful) side of the agent endpoint: one SDK
 * `WebStandardStreamableHTTPServerTransport` per `Mcp-Session-Id` (POST, GET SSE stream, DELETE), bound
 * to the identity that created it (any other identity presenting the id gets 404), closed after
 * `idleMs` without an open request or stream, at most `maxSessions` at once (503 beyond).
 *
 * @example
 * const sessions = new LegacySessions({ maxSessions: 10_000, idleMs: 1_800_000, maxBody, log, buildServer, onClosed });
 * return sessions.handle(request, identity.name, { authInfo, parsedBody });
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuthInfo,
  type LoggingLevel,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { identityFromAuthInfo } from './agent-auth-info.js';
import { DEFAULT_SSE_RETRY_MS, type EventStoreLimits, SessionEventStore } from './agent-event-store.js';
import type { GuardedServer } from './agent-outbound-guard.js';
import { refusalResponse } from './json-rpc-http-error.js';

/** A live legacy session, for the console. */
export interface AgentSessionInfo {
  id: string;
  identity: string;
  createdAt: number;
  lastSeenAt: number;
  /** Requests and streams currently open on the session. */
  open: number;
}

export interface LegacySession {
  id: string;
  owner: string;
  server: GuardedServer;
  transport: WebStandardStreamableHTTPServerTransport;
  createdAt: number;
  lastSeenAt: number;
  open: number;
  /** Set by `logging/setLevel`; unset means every message. */
  logLevel?: LoggingLevel;
  /** Resource URIs this session subscribed to. */
  subscriptions: Set<string>;
  /** Upstreams whose tools, prompts or resources this session was let through to (unsolicited logs). */
  upstreams: Set<string>;
}

export interface LegacySessionsOptions {
  maxSessions: number;
  idleMs: number;
  maxBody: number;
  log: Logger;
  /** A new agent-facing server for a session owned by `owner`; `sessionId` reads the id once assigned. */
  buildServer: (owner: string, sessionId: () => string | undefined) => GuardedServer;
  /** A session closed: release what it held (resource subscriptions). */
  onClosed: (session: LegacySession) => void;
  /** SSE resumability (agent-event-store.ts): bounds of each session's event store; `false`: none. */
  resumability: (EventStoreLimits & { retryMs?: number }) | false;
}

export class LegacySessions {
  readonly #options: LegacySessionsOptions;
  readonly #sessions = new Map<string, LegacySession>();
  readonly #sweep: NodeJS.Timeout;
  #pending = 0;

  constructor(options: LegacySessionsOptions) {
    this.#options = options;
    this.#sweep = setInterval(
      () => this.#sweepIdle(),
      Math.max(10, Math.min(options.idleMs / 2, 60_000)),
    ).unref();
  }

  get(id: string | undefined): LegacySession | undefined {
    return id === undefined ? undefined : this.#sessions.get(id);
  }

  values(): IterableIterator<LegacySession> {
    return this.#sessions.values();
  }

  info(): AgentSessionInfo[] {
    return [...this.#sessions.values()].map((s) => ({
      id: s.id,
      identity: s.owner,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      open: s.open,
    }));
  }

  /** Counts a Node request on its session (open requests keep a session from idling out). */
  track(req: IncomingMessage, res: ServerResponse): void {
    const sessionId = req.headers['mcp-session-id'];
    const session = typeof sessionId === 'string' ? this.#sessions.get(sessionId) : undefined;
    const identity = identityFromAuthInfo((req as IncomingMessage & { auth?: AuthInfo }).auth)?.name;
    if (!session || identity !== session.owner) return;
    session.open++;
    session.lastSeenAt = Date.now();
    res.once('close', () => {
      session.open--;
      session.lastSeenAt = Date.now();
    });
  }

  /** Serves one legacy HTTP request (a new session on `initialize`). */
  async handle(
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
    if (this.#sessions.size + this.#pending >= this.#options.maxSessions) {
      return refusalResponse({
        status: 503,
        code: -32000,
        airlock: 'AIRLOCK_SESSION_LIMIT',
        message: 'Too many sessions; retry later',
        headers: { 'retry-after': '5' },
      });
    }
    this.#pending++;
    try {
      return await this.#open(request, owner, handling);
    } finally {
      this.#pending--;
    }
  }

  async #open(
    request: Request,
    owner: string,
    handling: { authInfo: AuthInfo | undefined; parsedBody?: unknown },
  ): Promise<Response> {
    let registered: LegacySession | undefined;
    const server = this.#options.buildServer(owner, () => registered?.id);
    const resume = this.#options.resumability;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      ...(resume
        ? { eventStore: new SessionEventStore(resume), retryInterval: resume.retryMs ?? DEFAULT_SSE_RETRY_MS }
        : {}),
      maxRequestBodySize: this.#options.maxBody,
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
          upstreams: new Set(),
        };
        this.#sessions.set(id, registered);
        this.#options.log.info({ session: id, identity: owner }, 'legacy session opened');
      },
      onsessionclosed: (id) => {
        const session = this.#sessions.get(id);
        if (session) void this.closeSession(session);
      },
    });
    server.onclose = () => {
      if (registered && this.#sessions.get(registered.id) === registered)
        this.#sessions.delete(registered.id);
    };
    await server.connect(transport);
    const response = await transport.handleRequest(request, handling);
    if (!registered) await server.close().catch(() => {}); // not an initialize request: nothing to keep
    return response;
  }

  async closeSession(session: LegacySession): Promise<void> {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    this.#options.onClosed(session);
    session.subscriptions.clear();
    await session.server.close().catch(() => {});
    this.#options.log.info({ session: session.id, identity: session.owner }, 'legacy session closed');
  }

  /** Closes every session of an identity; returns how many. */
  async closeOf(identity: string): Promise<number> {
    const victims = [...this.#sessions.values()].filter((s) => s.owner === identity);
    await Promise.all(victims.map((s) => this.closeSession(s)));
    return victims.length;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await Promise.all([...this.#sessions.values()].map((s) => this.closeSession(s)));
  }

  #sweepIdle(): void {
    const now = Date.now();
    for (const session of this.#sessions.values()) {
      if (session.open <= 0 && now - session.lastSeenAt >= this.#options.idleMs)
        void this.closeSession(session);
    }
  }
}
