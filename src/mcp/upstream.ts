/**
 * A supervised connection to one upstream MCP server (a stdio child process or a Streamable HTTP
 * service), spoken to with the official v2 SDK `Client` in either protocol era.
 *
 * Supervision: when the child exits or the connection is lost, every in-flight request fails at once with
 * `AIRLOCK_UPSTREAM_UNAVAILABLE` (-32603, naming the upstream), and the upstream is restarted with
 * exponential backoff and jitter. Requests made while it is down fail the same way, immediately. The
 * stdio child's stderr goes to the logger, never to the connector's stdout, and the child inherits only
 * the SDK's minimal safe environment plus `config.env`. Agent credentials are never forwarded.
 *
 * Relay (see upstream-interaction.ts): a request may carry the `interaction` of its agent; the upstream's
 * server→client requests and log messages for that request go there, and a 2026-07-28 `input_required`
 * answer is returned to the caller (`allowInputRequired`) for the agent to fulfil. Resource subscriptions
 * and the 2025-11-25 log level are kept across restarts.
 *
 * @example
 * const erp = new Upstream({ name: 'erp', kind: 'stdio', command: 'node', args: ['erp.js'] }, { logger });
 * await erp.start();
 * const tools = await erp.listAll('tools');
 * const result = await erp.request('tools/call', { name: 'lookup', arguments: { id: 7 } });
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import {
  CLIENT_CAPABILITIES_META_KEY,
  Client,
  type FetchLike,
  type Implementation,
  LOG_LEVEL_META_KEY,
  type LoggingLevel,
  type Progress,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  type ServerCapabilities,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { type Logger, pino } from 'pino';
import { UpstreamError } from '../errors/airlock-error.js';
import { WireError } from '../errors/wire-error.js';
import { prepareSandboxedCommand } from '../sandbox/sandboxed-command.js';
import { type BackoffOptions, backoffDelay, type Clock, systemClock } from './restart-backoff.js';
import type { UpstreamConfig } from './upstream-config.js';
import { isValidUpstreamName } from './upstream-config.js';
import { requestCancelled, upstreamFailed, upstreamTimeout, upstreamUnavailable } from './upstream-errors.js';
import {
  installInteractionHandlers,
  RELAYED_CLIENT_CAPABILITIES,
  type UpstreamInteraction,
  upstreamCallStorage,
} from './upstream-interaction.js';
import { UpstreamResourceSubscriptions } from './upstream-resource-subscriptions.js';

/** Default per-request timeout towards an upstream (progress notifications reset it). */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
/** Default time allowed for connecting (spawn + handshake). */
export const DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS = 30_000;
/** A connection that stayed up this long resets the restart backoff to its initial delay. */
export const DEFAULT_UPSTREAM_HEALTHY_AFTER_MS = 10_000;
/** Most pages followed when listing (a defence against a `nextCursor` that never converges). */
export const DEFAULT_UPSTREAM_MAX_LIST_PAGES = 100;
/** Longest stderr line logged from a stdio child; longer lines are truncated. */
export const MAX_STDERR_LINE_LENGTH = 4096;

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

/** Methods whose 2026-07-28 answer may be `input_required` (multi-round-trip). */
const INPUT_REQUIRED_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

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
  /** Restart backoff. Defaults: 250 ms initial, 30 s max, `Math.random` jitter. */
  backoff?: BackoffOptions;
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
}

const LIST_METHODS: Record<
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

export class Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #options: UpstreamOptions;
  readonly #timeoutMs: number;

  #state: UpstreamState = 'stopped';
  #client: Client | undefined;
  #generation = 0;
  #downGeneration = -1;
  #started = false;
  #stopped = false;
  #attempt = 0;
  #restarts = 0;
  #everReady = false;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #readySince: number | undefined;
  #nextAttemptAt: number | undefined;
  #restartTimer: unknown;
  #sandboxed: boolean | undefined;
  readonly #inflight = new Set<(err: Error) => void>();
  /** Interactions of the requests in flight (stdio correlation, see upstream-interaction.ts). */
  readonly #interactions = new Set<UpstreamInteraction>();
  readonly #resourceSubscriptions: UpstreamResourceSubscriptions;
  readonly #resourceUpdatedListeners = new Set<(uri: string) => void>();
  /** Level last asked for with `setLoggingLevel` (re-applied to 2025-11-25 upstreams after a restart). */
  #logLevel: LoggingLevel | undefined;
  readonly #listChangedListeners = new Set<(kind: ListKind) => void>();
  readonly #statusListeners = new Set<(status: UpstreamStatus) => void>();

  constructor(config: UpstreamConfig, options: UpstreamOptions = {}) {
    if (!isValidUpstreamName(config.name)) {
      throw new UpstreamError(
        'AIRLOCK_UPSTREAM_BAD_NAME',
        `upstream name '${config.name}' must match [a-z0-9][a-z0-9_-]*`,
      );
    }
    this.name = config.name;
    this.config = config;
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ upstream: config.name });
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = config.timeoutMs ?? options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.#resourceSubscriptions = new UpstreamResourceSubscriptions(config.name, this.#log);
  }

  /**
   * Starts supervision. Resolves after the first connection attempt, successful or not (a failed attempt
   * schedules a retry; see `status()`). Idempotent.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#stopped = false;
    await upstreamCallStorage.exit(() => this.#connect());
  }

  /** Current status for the console. */
  status(): UpstreamStatus {
    const client = this.#client;
    const status: UpstreamStatus = {
      name: this.name,
      kind: this.config.kind,
      state: this.#state,
      restarts: this.#restarts,
    };
    if (this.#lastError !== undefined) status.lastError = this.#lastError;
    if (this.#lastErrorAt !== undefined) status.lastErrorAt = this.#lastErrorAt;
    if (this.#state === 'ready' && this.#readySince !== undefined) status.readySince = this.#readySince;
    if (this.#nextAttemptAt !== undefined && this.#state !== 'ready')
      status.nextAttemptAt = this.#nextAttemptAt;
    const era = client?.getProtocolEra();
    if (era) status.era = era;
    const server = client?.getServerVersion();
    if (server) status.server = server;
    if (this.#sandboxed !== undefined) status.sandboxed = this.#sandboxed;
    return status;
  }

  /** Server capabilities of the live connection, or undefined while down. */
  capabilities(): ServerCapabilities | undefined {
    return this.#state === 'ready' ? this.#client?.getServerCapabilities() : undefined;
  }

  /** Resolves when the upstream is ready (immediately if it is). Rejects after `timeoutMs`. */
  whenReady(timeoutMs = DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new UpstreamError(
            'AIRLOCK_UPSTREAM_NOT_READY',
            `upstream '${this.name}' not ready after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const off = this.onStatusChange((s) => {
        if (s.state !== 'ready') return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /** Called with the list kind when the upstream reports `notifications/<kind>/list_changed`. */
  onListChanged(listener: (kind: ListKind) => void): () => void {
    this.#listChangedListeners.add(listener);
    return () => this.#listChangedListeners.delete(listener);
  }

  /** Called on every state change (including each time the upstream becomes ready after a restart). */
  onStatusChange(listener: (status: UpstreamStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Called with the URI when the upstream sends `notifications/resources/updated` (see `subscribeResource`). */
  onResourceUpdated(listener: (uri: string) => void): () => void {
    this.#resourceUpdatedListeners.add(listener);
    return () => this.#resourceUpdatedListeners.delete(listener);
  }

  /**
   * Subscribes the gateway to updates of `uri` (kept across restarts; see
   * upstream-resource-subscriptions.ts). A 2025-11-25 upstream's refusal is rethrown.
   *
   * @example
   * upstream.onResourceUpdated((uri) => tellAgents(uri));
   * await upstream.subscribeResource('wiki://page/1');
   */
  subscribeResource(uri: string): Promise<void> {
    return this.#resourceSubscriptions.add(uri);
  }

  /** Ends the gateway's subscription to `uri`. */
  unsubscribeResource(uri: string): Promise<void> {
    return this.#resourceSubscriptions.remove(uri);
  }

  /** Resource URIs the gateway is subscribed to on this upstream. */
  subscribedResources(): string[] {
    return this.#resourceSubscriptions.uris();
  }

  /**
   * Sets the log level of a 2025-11-25 upstream that advertises `logging` (`logging/setLevel`; kept and
   * re-applied after a restart). 2026-07-28 upstreams take the level per request instead
   * (`interaction.logLevel`), so nothing is sent to them.
   */
  async setLoggingLevel(level: LoggingLevel): Promise<void> {
    this.#logLevel = level;
    await this.#applyLogLevel();
  }

  /**
   * Sends one request and returns the raw result. Upstream JSON-RPC errors are rethrown as the SDK's
   * `ProtocolError` (code, message, data intact); connection failures become `WireError`s.
   */
  request(
    method: ForwardedMethod,
    params: Record<string, unknown>,
    options: UpstreamRequestOptions = {},
  ): Promise<Record<string, unknown>> {
    const client = this.#client;
    if (!client || this.#state !== 'ready')
      return Promise.reject(upstreamUnavailable(this.name, this.#lastError));
    const generation = this.#generation;
    const modern = client.getProtocolEra() === 'modern';
    const interaction = options.interaction;
    const wire = modern ? withEnvelope(params, interaction) : withoutRetryFields(params);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.#inflight.add(fail);
      if (interaction) this.#interactions.add(interaction);
      // Related upstream traffic is handled in this context (see upstream-interaction.ts).
      upstreamCallStorage
        .run({ owner: this, interaction }, () =>
          client.request(
            { method, params: wire },
            {
              signal: options.signal,
              onprogress: options.onprogress,
              timeout: this.#timeoutMs,
              resetTimeoutOnProgress: true,
              // 2026-07-28: an `input_required` answer is returned to the caller (relayed to the agent).
              ...(modern && INPUT_REQUIRED_METHODS.has(method) ? { allowInputRequired: true } : {}),
            },
          ),
        )
        .then(
          (result) => resolve(result as Record<string, unknown>),
          (err: unknown) => reject(this.#mapError(err, generation, options.signal)),
        )
        .finally(() => {
          this.#inflight.delete(fail);
          if (interaction) this.#interactions.delete(interaction);
        });
    });
  }

  /** Lists every item of a kind, following `nextCursor` page by page. Empty when the capability is absent. */
  async listAll(kind: ListKind, options: UpstreamRequestOptions = {}): Promise<Record<string, unknown>[]> {
    const spec = LIST_METHODS[kind];
    const caps = this.capabilities();
    if (!caps) throw upstreamUnavailable(this.name, this.#lastError);
    if (!caps[spec.capability]) return [];
    const maxPages = this.#options.maxListPages ?? DEFAULT_UPSTREAM_MAX_LIST_PAGES;
    const items: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const result = await this.request(spec.method, cursor === undefined ? {} : { cursor }, options);
      const pageItems = result[spec.key];
      if (Array.isArray(pageItems)) items.push(...(pageItems as Record<string, unknown>[]));
      const next = result.nextCursor;
      if (typeof next !== 'string' || next === '' || seen.has(next)) return items;
      seen.add(next);
      cursor = next;
    }
    throw upstreamFailed(this.name, `${spec.method} pagination did not end after ${maxPages} pages`);
  }

  /** Stops supervision, fails in-flight requests and closes the connection (the stdio child is stopped). */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    if (this.#restartTimer !== undefined) this.#clock.clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#nextAttemptAt = undefined;
    this.#failInflight(upstreamUnavailable(this.name, 'stopped'));
    const client = this.#client;
    this.#client = undefined;
    this.#resourceSubscriptions.detach();
    this.#setState('stopped');
    if (client) await client.close().catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    this.#restartTimer = undefined;
    this.#nextAttemptAt = undefined;
    this.#setState(this.#everReady ? 'restarting' : this.#state === 'failed' ? 'failed' : 'starting');
    const serverRequests = this.#options.serverRequests ?? true;
    const client = new Client(this.#options.clientInfo ?? { name: 'airlock-connector', version: '0.1.0' }, {
      versionNegotiation: { mode: this.config.protocol === 'legacy' ? 'legacy' : 'auto' },
      // 2025-11-25 `initialize` declares what agents may answer; 2026-07-28 requests declare their own.
      capabilities: serverRequests ? RELAYED_CLIENT_CAPABILITIES : {},
      // `input_required` answers are relayed to the agent, never fulfilled here.
      inputRequired: { autoFulfill: false },
      listChanged: {
        tools: {
          autoRefresh: false,
          debounceMs: 0,
          onChanged: () => this.#emitListChanged(generation, 'tools'),
        },
        prompts: {
          autoRefresh: false,
          debounceMs: 0,
          onChanged: () => this.#emitListChanged(generation, 'prompts'),
        },
        resources: {
          autoRefresh: false,
          debounceMs: 0,
          onChanged: () => this.#emitListChanged(generation, 'resources'),
        },
      },
    });
    client.onerror = (err) => this.#log.debug({ err: err.message }, 'upstream protocol error');
    installInteractionHandlers(client, this, {
      name: this.name,
      uncorrelated: this.config.kind === 'stdio',
      inFlight: this.#interactions,
      serverRequests,
      log: this.#log,
      isCurrent: () => generation === this.#generation,
    });
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      if (generation !== this.#generation) return;
      for (const listener of this.#resourceUpdatedListeners) listener(notification.params.uri);
    });
    const closedReason = this.config.kind === 'stdio' ? 'process exited' : 'connection closed';
    client.onclose = () => this.#down(generation, closedReason);
    let transport: Transport;
    try {
      transport = await this.#createTransport(generation);
      await client.connect(transport, {
        timeout: this.#options.connectTimeoutMs ?? DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS,
      });
    } catch (err) {
      this.#log.warn({ err: describe(err) }, 'upstream failed to start');
      this.#down(generation, `failed to start: ${describe(err)}`, client);
      return;
    }
    if (generation !== this.#generation || this.#stopped || this.#downGeneration === generation) {
      await client.close().catch(() => {});
      return;
    }
    deliverResponsesAfterNotifications(transport);
    this.#client = client;
    this.#everReady = true;
    this.#readySince = this.#clock.now();
    this.#log.info({ era: client.getProtocolEra(), server: client.getServerVersion() }, 'upstream ready');
    this.#setState('ready');
    this.#resourceSubscriptions.attach({
      client,
      era: client.getProtocolEra() === 'modern' ? 'modern' : 'legacy',
      supported: client.getServerCapabilities()?.resources?.subscribe === true,
      send: (method, params) => this.request(method, params),
    });
    if (this.#logLevel !== undefined) void this.#applyLogLevel();
  }

  /** Sends the remembered log level to a ready 2025-11-25 upstream that advertises `logging`. */
  async #applyLogLevel(): Promise<void> {
    const level = this.#logLevel;
    const client = this.#client;
    if (level === undefined || !client || this.#state !== 'ready') return;
    if (client.getProtocolEra() === 'modern' || !client.getServerCapabilities()?.logging) return;
    await this.request('logging/setLevel', { level }).catch((err: unknown) =>
      this.#log.warn({ err: describe(err) }, 'upstream refused logging/setLevel'),
    );
  }

  async #createTransport(generation: number): Promise<Transport> {
    const config = this.config;
    if (config.kind === 'http') {
      return new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: config.headers ? { headers: config.headers } : undefined,
        fetch: this.#options.fetch,
      });
    }
    const spawn = await prepareSandboxedCommand(
      {
        name: this.name,
        command: config.command,
        args: config.args ?? [],
        env: config.env ?? {},
        ...(config.cwd ? { cwd: config.cwd } : {}),
        sandbox: config.sandbox,
      },
      { logger: this.#log },
    );
    this.#sandboxed = spawn.sandboxed;
    const transport = new StdioClientTransport({
      command: spawn.command,
      args: spawn.args,
      env: spawn.env,
      cwd: spawn.cwd,
      stderr: 'pipe',
    });
    const stderr = transport.stderr as Readable | null;
    if (stderr) {
      const lines = createInterface({ input: stderr, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', (line) => {
        if (generation !== this.#generation) return;
        this.#log.info({
          stderr: line.length > MAX_STDERR_LINE_LENGTH ? `${line.slice(0, MAX_STDERR_LINE_LENGTH)}…` : line,
        });
      });
    }
    return transport;
  }

  /** The connection of `generation` is gone: fail in-flight requests at once and schedule a restart. */
  #down(generation: number, reason: string, failedClient?: Client): void {
    if (this.#stopped || generation !== this.#generation || this.#downGeneration === generation) return;
    this.#downGeneration = generation;
    const wasReady = this.#state === 'ready';
    const client = this.#client ?? failedClient;
    this.#client = undefined;
    this.#resourceSubscriptions.detach();
    this.#lastError = reason;
    this.#lastErrorAt = this.#clock.now();
    this.#failInflight(upstreamUnavailable(this.name, reason));
    if (client) void client.close().catch(() => {});
    if (wasReady) {
      const upFor = this.#clock.now() - (this.#readySince ?? 0);
      if (upFor >= (this.#options.healthyAfterMs ?? DEFAULT_UPSTREAM_HEALTHY_AFTER_MS)) this.#attempt = 0;
      this.#log.warn({ reason }, 'upstream went down; restarting');
    }
    const delay = backoffDelay(this.#attempt, this.#options.backoff);
    this.#attempt++;
    this.#restarts++;
    this.#nextAttemptAt = this.#clock.now() + delay;
    this.#restartTimer = this.#clock.setTimeout(() => {
      if (this.#stopped) return;
      void upstreamCallStorage.exit(() => this.#connect());
    }, delay);
    this.#setState(wasReady || this.#everReady ? 'restarting' : 'failed');
  }

  #mapError(err: unknown, generation: number, signal: AbortSignal | undefined): Error {
    if (err instanceof ProtocolError) return err;
    if (err instanceof WireError) return err;
    if (signal?.aborted) return requestCancelled();
    if (generation !== this.#generation || this.#downGeneration === generation) {
      return upstreamUnavailable(this.name, this.#lastError);
    }
    if (err instanceof SdkError) {
      if (err.code === SdkErrorCode.RequestTimeout) return upstreamTimeout(this.name, this.#timeoutMs);
      if (err.code === SdkErrorCode.ConnectionClosed || err.code === SdkErrorCode.NotConnected) {
        this.#down(generation, 'connection closed');
        return upstreamUnavailable(this.name, this.#lastError);
      }
      if (this.config.kind === 'http' && isHttpConnectionFailure(err)) {
        this.#down(generation, `connection failed: ${err.message}`);
        return upstreamUnavailable(this.name, this.#lastError);
      }
      return upstreamFailed(this.name, err.code);
    }
    if (this.config.kind === 'http' && err instanceof TypeError) {
      // fetch() rejects with TypeError('fetch failed') when the service is unreachable.
      this.#down(generation, `connection failed: ${describe(err)}`);
      return upstreamUnavailable(this.name, this.#lastError);
    }
    this.#log.warn({ err: describe(err) }, 'upstream request failed');
    return upstreamFailed(this.name, 'unexpected error');
  }

  #failInflight(err: Error): void {
    const pending = [...this.#inflight];
    this.#inflight.clear();
    for (const fail of pending) fail(err);
  }

  #emitListChanged(generation: number, kind: ListKind): void {
    if (generation !== this.#generation) return;
    for (const listener of this.#listChangedListeners) listener(kind);
  }

  #setState(state: UpstreamState): void {
    this.#state = state;
    const status = this.status();
    for (const listener of this.#statusListeners) listener(status);
  }
}

/**
 * The SDK dispatches inbound notifications one microtask later than responses. When a request's last
 * progress notification and its response arrive in the same chunk, the response would remove the progress
 * handler first and the progress would be dropped ("unknown token"). Delivering responses on the next
 * macrotask keeps the order the upstream sent.
 */
function deliverResponsesAfterNotifications(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  transport.onmessage = (message, extra) => {
    if ('id' in message && !('method' in message)) setImmediate(() => deliver(message, extra));
    else deliver(message, extra);
  };
}

const RETRY_FIELDS = ['inputResponses', 'requestState'] as const;

/**
 * 2026-07-28: the request envelope declares what the agent behind this request can answer
 * (`interaction.clientCapabilities`, none without an interaction: the gateway's own requests) and its
 * log level. Set explicitly because the client's own capabilities are the 2025-11-25 `initialize` set.
 */
function withEnvelope(
  params: Record<string, unknown>,
  interaction: UpstreamInteraction | undefined,
): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    ...(isRecord(params._meta) ? params._meta : {}),
    [CLIENT_CAPABILITIES_META_KEY]: interaction?.clientCapabilities ?? {},
  };
  if (interaction?.logLevel !== undefined) meta[LOG_LEVEL_META_KEY] = interaction.logLevel;
  return { ...params, _meta: meta };
}

/** 2025-11-25 has no multi-round-trip: the retry fields of a 2026-07-28 request are not sent. */
function withoutRetryFields(params: Record<string, unknown>): Record<string, unknown> {
  if (!RETRY_FIELDS.some((k) => k in params)) return params;
  const out = { ...params };
  for (const k of RETRY_FIELDS) delete out[k];
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isHttpConnectionFailure(err: SdkError): boolean {
  return err.code === SdkErrorCode.SendFailed || err.code === SdkErrorCode.ClientHttpFailedToOpenStream;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
