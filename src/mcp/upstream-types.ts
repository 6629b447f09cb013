/**
 * The public shapes of an upstream connection (upstream.ts): its states and status, the lists and
 * methods the gateway forwards, request and connection options, and their secure defaults.
 *
 * @example
 * const erp = new Upstream(config, { timeoutMs: DEFAULT_UPSTREAM_TIMEOUT_MS, stderr: 'redact' });
 */
import type { FetchLike, Implementation, Progress, ServerCapabilities } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import type { BackoffOptions } from '../supervision/backoff.js';
import type { Clock } from '../supervision/clock.js';
import type { UpstreamInteraction } from './upstream-interaction.js';
import type { StderrMode } from './upstream-stderr.js';

/** Default per-request timeout towards an upstream (progress notifications reset it). */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
/** Default time allowed for connecting (spawn + handshake). */
export const DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS = 30_000;
/** A connection that stayed up this long resets the restart backoff to its initial delay. */
export const DEFAULT_UPSTREAM_HEALTHY_AFTER_MS = 10_000;
/** First restart delay (equal jitter: a delay in [d/2, d]). */
export const DEFAULT_RESTART_INITIAL_DELAY_MS = 250;
/** Longest restart delay. */
export const DEFAULT_RESTART_MAX_DELAY_MS = 30_000;
/** The restart pacing of an upstream: the supervision `Backoff` with equal jitter and these bounds. */
export const DEFAULT_RESTART_BACKOFF = {
  initialMs: DEFAULT_RESTART_INITIAL_DELAY_MS,
  maxMs: DEFAULT_RESTART_MAX_DELAY_MS,
  jitter: 'equal',
} as const satisfies BackoffOptions;
/** Most pages followed when listing (a defence against a `nextCursor` that never converges). */
export const DEFAULT_UPSTREAM_MAX_LIST_PAGES = 100;

/**
 * `starting`: first connection attempt in progress. `ready`: connected. `restarting`: was up, went down,
 * a restart is scheduled or in progress. `failed`: the last attempt to start failed; another is scheduled
 * (`nextAttemptAt`). `stopped`: closed by `close()`.
 */
export type UpstreamState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

/** What the console shows per upstream. */
export interface UpstreamStatus {
  name: string;
  kind: 'stdio' | 'http';
  state: UpstreamState;
  /** Restarts scheduled since `start()`. */
  restarts: number;
  lastError?: string;
  lastErrorAt?: number;
  readySince?: number;
  nextAttemptAt?: number;
  /** Protocol era negotiated with the upstream. */
  era?: 'legacy' | 'modern';
  /** The upstream's self-reported implementation. */
  server?: Implementation;
  /** The upstream's `instructions` for models (while connected). */
  instructions?: string;
  /** stdio only: whether the running child is inside the sandbox (see src/sandbox/). */
  sandboxed?: boolean;
}

/** The lists an upstream publishes, by the key the gateway uses. */
export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

/** The requests the gateway forwards to upstreams. */
export type ForwardedMethod =
  | 'tools/list'
  | 'tools/call'
  | 'prompts/list'
  | 'prompts/get'
  | 'resources/list'
  | 'resources/templates/list'
  | 'resources/read'
  | 'completion/complete'
  | 'resources/subscribe'
  | 'resources/unsubscribe'
  | 'logging/setLevel';

export interface UpstreamRequestOptions {
  /** Abort (agent cancelled): the SDK sends the upstream a cancellation. */
  signal?: AbortSignal;
  /** Called for each progress notification the upstream sends for this request. */
  onprogress?: (progress: Progress) => void;
  /**
   * The agent behind this request: where the upstream's server→client requests and log messages for it
   * go, and what the 2026-07-28 request envelope declares (see upstream-interaction.ts). Without it the
   * request declares no client capabilities and no log level, and related requests are refused.
   */
  interaction?: UpstreamInteraction;
  /**
   * Extra HTTP headers for this request to an HTTP upstream, e.g. a short-lived token the connector
   * minted for the end user (never the agent's own credential). Applied through the upstream's fetch
   * (see src/identity/upstream-token-context.ts); ignored by stdio upstreams.
   */
  headersFor?: (upstream: string) => Promise<Readonly<Record<string, string>>>;
}

export interface UpstreamOptions {
  /** Default pino logger, silent. */
  logger?: Logger;
  /** Timers for restarts. Default: real time. */
  clock?: Clock;
  /**
   * Restart backoff (the supervision `Backoff`, equal jitter). Defaults: `initialMs`
   * {@link DEFAULT_RESTART_INITIAL_DELAY_MS}, `maxMs` {@link DEFAULT_RESTART_MAX_DELAY_MS}, `Math.random`.
   */
  backoff?: Pick<BackoffOptions, 'initialMs' | 'maxMs' | 'factor' | 'random'>;
  /** Per-request timeout when the config sets none. Default {@link DEFAULT_UPSTREAM_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Connect (spawn + handshake) timeout. Default {@link DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Uptime after which the backoff resets. Default {@link DEFAULT_UPSTREAM_HEALTHY_AFTER_MS}. */
  healthyAfterMs?: number;
  /** Page cap for `listAll`. Default {@link DEFAULT_UPSTREAM_MAX_LIST_PAGES}. */
  maxListPages?: number;
  /** How the gateway introduces itself to upstreams. */
  clientInfo?: Implementation;
  /** Custom fetch for HTTP upstreams (e.g. a private CA). */
  fetch?: FetchLike;
  /**
   * Declare `sampling`, `elicitation` and `roots` to 2025-11-25 upstreams so that their server→client
   * requests can be relayed to agents (connector option `mcp.allowServerRequests`). Default `true`.
   * 2026-07-28 upstreams get the capabilities of each request's agent instead.
   */
  serverRequests?: boolean;
  /**
   * Post a plain 2026-07-28 `tools/call` to an HTTP upstream without the SDK client's per-request
   * machinery (upstream-direct-call.ts; same wire and same errors). Connector option `mcp.directCalls`.
   * Default `true`.
   */
  directCalls?: boolean;
  /** stdio stderr lines: `redact` (default {@link DEFAULT_UPSTREAM_STDERR}, logged redacted) or `drop`. */
  stderr?: StderrMode;
}

/** Methods whose 2026-07-28 answer may be `input_required` (multi-round-trip). */
export const INPUT_REQUIRED_METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
]);

/** The request and result key of each list, and the capability that announces it. */
export const LIST_METHODS: Record<
  ListKind,
  { method: ForwardedMethod; key: string; capability: keyof ServerCapabilities }
> = {
  tools: { method: 'tools/list', key: 'tools', capability: 'tools' },
  prompts: { method: 'prompts/list', key: 'prompts', capability: 'prompts' },
  resources: { method: 'resources/list', key: 'resources', capability: 'resources' },
  resourceTemplates: {
    method: 'resources/templates/list',
    key: 'resourceTemplates',
    capability: 'resources',
  },
};
