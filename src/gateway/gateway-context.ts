/**
 * What every gateway stage sees: one `GatewayContext` per JSON-RPC request from an agent. Stages are
 * undici-interceptor style functions `(next) => handler`; see `compose.ts` and `gateway-stages.ts`.
 */

/**
 * How the agent proved who it is. `mtls`: a client certificate issued by the tenant CA; `bearer`: an
 * OAuth access token (JWT) from the customer's identity provider, possibly DPoP-bound.
 */
export type AuthMethod = 'mtls' | 'bearer';

/** The authenticated workload behind a request, as the transport layer established it. */
export interface GatewayIdentity {
  /** Identity name, e.g. `claims-bot` (mTLS); the token's `sub` (or `client_id`) for bearer identities. */
  name: string;
  /** SPIFFE-style id, e.g. `spiffe://acme.airlock/agent/claims-bot`. Empty for bearer identities. */
  spiffeId: string;
  /** Lowercase hex serial of the client certificate the agent presented (mTLS). Empty for bearer identities. */
  certSerial: string;
  authenticatedBy: AuthMethod;
  /** Bearer only: the token's `sub`. */
  subject?: string;
  /** Bearer only: the token's `client_id` / `azp`. */
  clientId?: string;
  /** Bearer only: the token's `iss`. */
  issuer?: string;
  /** Bearer only: the token's scopes. */
  scopes?: string[];
  /** Bearer only: the token's `exp` in epoch ms; the `authenticate` stage refuses the request after it. */
  expiresAt?: number;
  /** Bearer only: thumbprint of the DPoP key the token is bound to (a valid proof was presented). */
  dpopJkt?: string;
}

/** The end user an agent acts for, from a verified IdP token the agent presented (`X-Airlock-End-User`). */
export interface EndUser {
  /** The end user's `sub` at `issuer`. */
  subject: string;
  /** The IdP that issued the end-user token. */
  issuer: string;
  /** When the end-user token expires (epoch ms). */
  expiresAt?: number;
  /** The end-user token's verified claims (policy `when.endUser` conditions read them). */
  claims?: Record<string, unknown>;
}

/** MCP protocol era of the agent connection: `legacy` = 2025-11-25 sessions, `modern` = 2026-07-28. */
export type GatewayEra = 'legacy' | 'modern';

/** One stage's verdict, kept on the context for the audit stage and published on the decision channel. */
export interface GatewayDecision {
  /** The stage that decided, e.g. `authenticate`. */
  stage: string;
  outcome: 'allow' | 'deny' | 'modify' | 'info';
  /** Stable `AIRLOCK_*` code for denials (and for notable allows). */
  code?: string;
  /** Human-readable reason. Never contains arguments or results. */
  reason?: string;
  /** Epoch milliseconds. */
  at: number;
  detail?: Record<string, unknown>;
}

/** A progress update for the agent (`notifications/progress`). */
export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

/** The per-request context a stage reads and may modify (`params` is mutable on purpose). */
export interface GatewayContext {
  /** Set by the transport (mTLS peer certificate); the `authenticate` stage re-checks it against the store. */
  readonly identity: GatewayIdentity | undefined;
  /** The verified end user the agent acts for, when the agent presented one (see `EndUser`). */
  readonly endUser?: EndUser;
  readonly era: GatewayEra;
  /** `Mcp-Session-Id` for legacy sessions; undefined for modern (stateless) requests. */
  readonly sessionId: string | undefined;
  /** JSON-RPC method, e.g. `tools/call`. */
  readonly method: string;
  /** JSON-RPC params. Stages may rewrite them (e.g. strip undeclared arguments); `_meta` included. */
  params: Record<string, unknown>;
  /** JSON-RPC request id as the agent sent it. */
  readonly requestId: string | number;
  /** Aborted when the agent cancels the request or goes away. */
  readonly signal: AbortSignal;
  /** The agent's progress token, when it asked for progress. */
  readonly progressToken: string | number | undefined;
  /** Sends `notifications/progress` to the agent; a no-op when the agent sent no progress token. */
  readonly sendProgress: (update: ProgressUpdate) => Promise<void>;
  /** Decisions appended by stages in order (see `recordDecision`). */
  readonly decisions: GatewayDecision[];
  /** Epoch milliseconds when the request entered the gateway. */
  readonly startedAt: number;
}

/** Where the budget stage's upstream-timeout clock listens for pauses (see {@link whileClockPaused}). */
export const UPSTREAM_CLOCK = Symbol('airlock.upstreamClock');

interface PausableClock {
  pause(): void;
  resume(): void;
}

/**
 * Runs `work` (a wait for a person, such as an approval hold) with the upstream timeout of `ctx`
 * paused: `upstreamTimeoutMs` bounds the upstream, not the time a supervisor takes to decide.
 *
 * @example
 * const outcome = await whileClockPaused(ctx, () => approvals.request(request));
 */
export async function whileClockPaused<T>(ctx: GatewayContext, work: () => Promise<T>): Promise<T> {
  const clock = (ctx as { [UPSTREAM_CLOCK]?: PausableClock })[UPSTREAM_CLOCK];
  clock?.pause();
  try {
    return await work();
  } finally {
    clock?.resume();
  }
}

/** Handles one request: resolves with the JSON-RPC result or throws (a `WireError` for refusals). */
export type Handler = (ctx: GatewayContext) => Promise<unknown>;

/** An interceptor: wraps the next handler. It may refuse (throw), rewrite `ctx.params`, or post-process the result. */
export type Stage = (next: Handler) => Handler;
